// Kernel I/O for the per-peer entries: what the kernel holds on the VXLAN device (and, for
// DirectRouting, on the underlay), and applying a plan to it. Every operation stands alone: one
// failure is reported and the rest goes on; the next reconcile pass retries what failed.

import { NUD_PERMANENT } from "../../native/netlink/constants";
import { isNetlinkError } from "../../native/netlink/errors";
import type { Handle } from "../../native/netlink/handle";
import type { IpFamily } from "../../native/netlink/ip";
import { isInside } from "./addressing";
import type { Entries, FdbEntry, NeighbourEntry, Plan, RouteEntry } from "./entries";

export interface EntryScope {
  readonly family: IpFamily;
  readonly deviceIndex: number;
  readonly underlayIndex: number;
  /** Only entries inside the cluster network are the overlay's. */
  readonly network: string;
  /** This node's own subnet: never touched, whatever device routes it. */
  readonly ownSubnet: string;
}

export type EntryKind = "neighbour" | "fdb" | "route";

export interface EntryFailure {
  readonly kind: EntryKind;
  readonly action: "add" | "remove";
  readonly entry: NeighbourEntry | FdbEntry | RouteEntry;
  readonly error: unknown;
}

export interface ApplyResult {
  readonly added: Readonly<Record<EntryKind, number>>;
  readonly removed: Readonly<Record<EntryKind, number>>;
  readonly failures: readonly EntryFailure[];
}

/** The overlay's entries as the kernel has them now. */
export function observeEntries(handle: Handle, scope: EntryScope): Entries {
  const ours = (dst: string): boolean => isInside(dst, scope.network) && !isInside(dst, scope.ownSubnet);
  const neighbours = handle
    .neighList({ linkIndex: scope.deviceIndex, family: scope.family })
    .filter((n) => isInside(n.ip, scope.network))
    .map((n) => ({ ip: n.ip, mac: (n.state & NUD_PERMANENT) !== 0 ? n.mac : undefined }));
  const fdb = handle
    .fdbList({ linkIndex: scope.deviceIndex })
    .flatMap((e) => (e.dst === undefined ? [] : [{ mac: e.mac, dst: e.dst }]));
  const routes: RouteEntry[] = [];
  for (const route of handle.routeList({ family: scope.family, linkIndex: scope.deviceIndex })) {
    if (ours(route.dst)) routes.push({ dst: route.dst, gateway: route.gateway ?? "", path: "overlay" });
  }
  // DirectRouting's routes, also once it is switched off: via a gateway into the cluster network.
  for (const route of handle.routeList({ family: scope.family, linkIndex: scope.underlayIndex })) {
    if (ours(route.dst) && route.gateway !== undefined) {
      routes.push({ dst: route.dst, gateway: route.gateway, path: "underlay" });
    }
  }
  return { neighbours, fdb, routes };
}

/** Removals first (routes, then neighbours and FDB entries), then additions in the order that
 * keeps every route resolvable: neighbours, FDB entries, routes. */
export function applyPlan(handle: Handle, scope: EntryScope, plan: Plan): ApplyResult {
  const added = { neighbour: 0, fdb: 0, route: 0 };
  const removed = { neighbour: 0, fdb: 0, route: 0 };
  const failures: EntryFailure[] = [];
  const attempt = (kind: EntryKind, action: "add" | "remove", entry: EntryFailure["entry"], work: () => void) => {
    try {
      work();
      (action === "add" ? added : removed)[kind]++;
      return true;
    } catch (error: unknown) {
      // Already gone is what a removal wanted.
      if (action === "remove" && isNetlinkError(error, "ENOENT", "ESRCH")) return true;
      failures.push({ kind, action, entry, error });
      return false;
    }
  };
  const linkOf = (route: RouteEntry) => (route.path === "overlay" ? scope.deviceIndex : scope.underlayIndex);

  for (const route of plan.remove.routes) {
    const gateway = route.gateway === "" ? {} : { gateway: route.gateway };
    attempt("route", "remove", route, () => handle.routeDel({ dst: route.dst, linkIndex: linkOf(route), ...gateway }));
  }
  for (const n of plan.remove.neighbours) {
    attempt("neighbour", "remove", n, () => handle.neighDel(scope.deviceIndex, n.ip));
  }
  for (const e of plan.remove.fdb) {
    attempt("fdb", "remove", e, () => handle.fdbDel(scope.deviceIndex, { mac: e.mac, dst: e.dst, self: true }));
  }

  // A route whose gateway could not be resolved would black-hole the peer's traffic: skip it.
  const unresolved = new Set<string>();
  for (const n of plan.add.neighbours) {
    const mac = n.mac;
    if (mac === undefined) continue;
    if (!attempt("neighbour", "add", n, () => handle.neighReplace(scope.deviceIndex, { ip: n.ip, mac }))) {
      unresolved.add(n.ip);
    }
  }
  for (const e of plan.add.fdb) {
    attempt("fdb", "add", e, () => handle.fdbReplace(scope.deviceIndex, { mac: e.mac, dst: e.dst, self: true }));
  }
  for (const route of plan.add.routes) {
    if (route.path === "overlay" && unresolved.has(route.gateway)) continue;
    const spec =
      route.path === "overlay"
        ? { dst: route.dst, gateway: route.gateway, linkIndex: scope.deviceIndex, onlink: true }
        : { dst: route.dst, gateway: route.gateway, linkIndex: scope.underlayIndex };
    attempt("route", "add", route, () => handle.routeReplace(spec));
  }
  return { added, removed, failures };
}

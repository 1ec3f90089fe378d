// The per-peer kernel entries of one VXLAN device, as plain data, and the pure planning of what to
// add and remove to turn one set into another. The same planner serves both paths: a lease event
// plans from the previous wanted set (only what changed is touched), a reconcile pass plans from
// what the kernel reports (drift is repaired, entries of no lease are removed).

/** A permanent neighbour entry: the peer's subnet network address -> its VTEP MAC. */
export interface NeighbourEntry {
  readonly ip: string;
  /** Undefined for an observed entry that is not permanent (learnt, incomplete, stale...). */
  readonly mac: string | undefined;
}

/** An FDB entry of the VXLAN device: the peer's VTEP MAC -> its underlay address. */
export interface FdbEntry {
  readonly mac: string;
  readonly dst: string;
}

/**
 * A route to a peer's subnet: over the overlay (`via` its subnet network address, onlink, on the
 * VXLAN device) or, with DirectRouting, over the underlay (`via` its public address).
 */
export interface RouteEntry {
  readonly dst: string;
  /** Empty for an observed route without a gateway (none of ours is). */
  readonly gateway: string;
  readonly path: "overlay" | "underlay";
}

export interface Entries {
  readonly neighbours: readonly NeighbourEntry[];
  readonly fdb: readonly FdbEntry[];
  readonly routes: readonly RouteEntry[];
}

/**
 * What to change. Additions are idempotent replaces, to be applied neighbours first, then FDB
 * entries, then routes (so the kernel never routes to a peer it cannot resolve); removals routes
 * first.
 */
export interface Plan {
  readonly add: Entries;
  readonly remove: Entries;
}

export const NO_ENTRIES: Entries = { neighbours: [], fdb: [], routes: [] };

/** A peer as the datapath of one family sees it. */
export interface Peer {
  /** The lease key, for logs. */
  readonly key: string;
  readonly subnet: string;
  /** The subnet's network address: the address the peer's VXLAN device holds. */
  readonly gateway: string;
  readonly publicIp: string;
  readonly vtepMac: string;
  /** DirectRouting and the peer is on the underlay's segment: a plain route, no VXLAN. */
  readonly direct: boolean;
}

/** The entries that make the peers reachable. */
export function entriesOf(peers: readonly Peer[]): Entries {
  const overlay = peers.filter((peer) => !peer.direct);
  return {
    neighbours: overlay.map((peer) => ({ ip: peer.gateway, mac: peer.vtepMac })),
    fdb: overlay.map((peer) => ({ mac: peer.vtepMac, dst: peer.publicIp })),
    routes: peers.map((peer) =>
      peer.direct
        ? { dst: peer.subnet, gateway: peer.publicIp, path: "underlay" }
        : { dst: peer.subnet, gateway: peer.gateway, path: "overlay" },
    ),
  };
}

const fdbKey = (entry: FdbEntry): string => `${entry.mac} ${entry.dst}`;
const routeKey = (entry: RouteEntry): string => `${entry.path} ${entry.dst} ${entry.gateway}`;

/** What turns `current` into `wanted`. */
export function plan(wanted: Entries, current: Entries): Plan {
  const currentNeighbours = new Map(current.neighbours.map((n) => [n.ip, n.mac]));
  const wantedNeighbours = new Set(wanted.neighbours.map((n) => n.ip));
  const currentFdb = new Set(current.fdb.map(fdbKey));
  const wantedFdb = new Set(wanted.fdb.map(fdbKey));
  const currentRoutes = new Set(current.routes.map(routeKey));
  // A route is replaced in place (same destination) when only its path or gateway changed.
  const wantedRouteDsts = new Set(wanted.routes.map((r) => r.dst));

  return {
    add: {
      neighbours: wanted.neighbours.filter((n) => currentNeighbours.get(n.ip) !== n.mac),
      fdb: wanted.fdb.filter((e) => !currentFdb.has(fdbKey(e))),
      routes: wanted.routes.filter((r) => !currentRoutes.has(routeKey(r))),
    },
    remove: {
      neighbours: current.neighbours.filter((n) => !wantedNeighbours.has(n.ip)),
      // The FDB entry of a peer's previous MAC (flannel leaks it) and of a previous address.
      fdb: current.fdb.filter((e) => !wantedFdb.has(fdbKey(e))),
      routes: current.routes.filter((r) => !wantedRouteDsts.has(r.dst)),
    },
  };
}

export function isEmptyPlan(p: Plan): boolean {
  return [p.add, p.remove].every((e) => e.neighbours.length + e.fdb.length + e.routes.length === 0);
}

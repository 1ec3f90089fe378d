// flanneld's iptables rules (pkg/trafficmngr/iptables), one copy per family:
//
//   nat:    -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
//           -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ... -j RETURN   (kube-proxy marked it: no double NAT)
//           -A FLANNEL-POSTRTG -s <node> -d <cluster> ... -j RETURN         (pod -> pod)
//           -A FLANNEL-POSTRTG -s <cluster> -d <node> ... -j RETURN
//           -A FLANNEL-POSTRTG ! -s <cluster> -d <node> ... -j RETURN       (outside -> local pod keeps its source)
//           -A FLANNEL-POSTRTG -s <cluster> ! -d <multicast> ... -j MASQUERADE --random-fully  (pod -> outside)
//           -A FLANNEL-POSTRTG ! -s <cluster> -d <cluster> ... -j MASQUERADE --random-fully    (host -> remote pod)
//   filter: -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
//           -A FLANNEL-FWD -s <cluster> ... -j ACCEPT
//           -A FLANNEL-FWD -d <cluster> ... -j ACCEPT
//
// Each chain is rewritten whole in one iptables-restore transaction (declaring a chain empties
// it), where flanneld deletes and re-appends rule by rule. The jump into each chain is appended
// once, as flanneld does, so a host firewall's earlier DROP still wins.

import type { IpFamily } from "../native/netlink/ip";
import { MULTICAST } from "./addresses";
import { updateIptablesTable } from "./iptables";
import { type IptablesTableState, removeChainsScript, restoreScript, ruleLine, targetOf } from "./iptables-text";
import type { FamilyOverlay, OverlayPlan } from "./overlay-rules";
import { cleanUpUnlessUnavailable, type IptablesTable, iptablesWorks, settleAll } from "./tools";

interface ChainSpec {
  readonly table: IptablesTable;
  readonly chain: string;
  /** The built-in chain that jumps to it. */
  readonly from: string;
  readonly comment: string;
}

export const MASQ_CHAIN: ChainSpec = {
  table: "nat",
  chain: "FLANNEL-POSTRTG",
  from: "POSTROUTING",
  comment: "flanneld masq",
};
export const FORWARD_CHAIN: ChainSpec = {
  table: "filter",
  chain: "FLANNEL-FWD",
  from: "FORWARD",
  comment: "flanneld forward",
};

const FAMILIES: readonly IpFamily[] = [4, 6];
const KUBE_PROXY_MASQ_MARK = "0x4000/0x4000";

/** The rules of FLANNEL-POSTRTG, as arguments after `-A FLANNEL-POSTRTG`. */
export function masqueradeRules(overlay: FamilyOverlay): string[][] {
  const { clusterNetwork: cluster, nodeSubnet: node } = overlay;
  const tail = (target: string) => [
    ...["-m", "comment", "--comment", MASQ_CHAIN.comment, "-j", target],
    ...(target === "MASQUERADE" && overlay.randomFully ? ["--random-fully"] : []),
  ];
  return [
    ["-m", "mark", "--mark", KUBE_PROXY_MASQ_MARK, ...tail("RETURN")],
    ["-s", node, "-d", cluster, ...tail("RETURN")],
    ["-s", cluster, "-d", node, ...tail("RETURN")],
    ["!", "-s", cluster, "-d", node, ...tail("RETURN")],
    ["-s", cluster, "!", "-d", MULTICAST[overlay.family], ...tail("MASQUERADE")],
    ["!", "-s", cluster, "-d", cluster, ...tail("MASQUERADE")],
  ];
}

/** The rules of FLANNEL-FWD. */
export function forwardRules(overlay: FamilyOverlay): string[][] {
  const tail = ["-m", "comment", "--comment", FORWARD_CHAIN.comment, "-j", "ACCEPT"];
  return [
    ["-s", overlay.clusterNetwork, ...tail],
    ["-d", overlay.clusterNetwork, ...tail],
  ];
}

/**
 * A script that makes `spec.chain` hold exactly `rules` and be jumped to once from `spec.from`
 * (a missing jump is appended, duplicates are deleted); undefined `rules` removes the chain.
 * Undefined when all is in place already, so a periodic reconcile writes nothing.
 */
export function planChain(
  state: IptablesTableState,
  spec: ChainSpec,
  rules: string[][] | undefined,
): string | undefined {
  if (rules === undefined) return removeChainsScript(spec.table, state, [spec.chain]);
  const jumps = state.rules.filter((rule) => rule.chain === spec.from && targetOf(rule) === spec.chain);
  const jumpArgs = ["-m", "comment", "--comment", spec.comment, "-j", spec.chain];
  const wanted = rules.map((args) => ruleLine("-A", spec.chain, args));
  const current = state.rules
    .filter((rule) => rule.chain === spec.chain)
    .map((rule) => ruleLine("-A", rule.chain, rule.args));
  if (jumps.length === 1 && state.chains.has(spec.chain) && current.join("\n") === wanted.join("\n")) return undefined;
  const lines = [
    ...wanted,
    ...jumps.slice(1).map((rule) => ruleLine("-D", rule.chain, rule.args)),
    ...(jumps.length === 0 ? [ruleLine("-A", spec.from, jumpArgs)] : []),
  ];
  return restoreScript(spec.table, [spec.chain], lines);
}

export async function ensureIptablesOverlay(plan: OverlayPlan): Promise<void> {
  await settleAll(
    FAMILIES.flatMap((family) => {
      const overlay = plan[family];
      // A family that is not configured only loses its chains, and only where its iptables works.
      if (overlay === undefined) return removeFamily(family);
      const masq = overlay.masquerade ? masqueradeRules(overlay) : undefined;
      const forward = overlay.forward ? forwardRules(overlay) : undefined;
      return [
        updateIptablesTable(family, "nat", (state) => planChain(state, MASQ_CHAIN, masq)),
        updateIptablesTable(family, "filter", (state) => planChain(state, FORWARD_CHAIN, forward)),
      ];
    }),
  );
}

/** Removes both chains and their jumps in both families, wherever iptables works. */
export async function removeIptablesOverlay(): Promise<void> {
  await settleAll(FAMILIES.flatMap(removeFamily));
}

function removeFamily(family: IpFamily): Promise<void>[] {
  return [MASQ_CHAIN, FORWARD_CHAIN].map((spec) =>
    cleanUpUnlessUnavailable(
      () => updateIptablesTable(family, spec.table, (state) => planChain(state, spec, undefined)),
      () => iptablesWorks(family),
    ),
  );
}

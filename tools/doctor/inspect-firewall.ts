// Forwarding as netfilter decides it: the FORWARD policy of iptables (legacy or nft-backed, as
// iptables-save shows it) and of nftables base chains on the forward hook, and whether traffic
// from and to the cluster network is accepted there (the agent's FLANNEL-FWD rules, or
// equivalent rules). Also br_netfilter's switches. Nothing is changed: only -save and list.

import { isObject, JsonReader } from "../../cni/json";
import { parseIptablesSave, ruleLine, targetOf } from "../../firewall/iptables-text";
import { FORWARD_CHAIN, forwardRules } from "../../firewall/overlay-iptables";
import { FirewallToolError, iptablesSave, nftListJson } from "../../firewall/tools";
import { hasErrorCode } from "../../native/binding";
import type { Handle } from "../../native/netlink/handle";
import type { IpFamily } from "../../native/netlink/ip";
import type { ForwardChainState } from "./report";

/** The cluster network of each family, undefined for a family the node does not use. */
export type ClusterNetworks = Readonly<Record<IpFamily, string | undefined>>;

export interface ForwardingInspection {
  readonly chains: readonly ForwardChainState[];
  /** Tools that could not be run ("iptables-save: ..."). */
  readonly unavailable: readonly string[];
}

export async function inspectForwarding(clusters: ClusterNetworks): Promise<ForwardingInspection> {
  const chains: ForwardChainState[] = [];
  const unavailable: string[] = [];
  const families = ([4, 6] as const).filter((family) => clusters[family] !== undefined);
  for (const family of families) {
    try {
      chains.push(iptablesForward(family, clusters[family]!, await iptablesSave(family, "filter")));
    } catch (error: unknown) {
      if (!(error instanceof FirewallToolError)) throw error;
      unavailable.push(error.message);
    }
  }
  if (families.length > 0) {
    try {
      chains.push(...nftForwardChains(clusters, await nftListJson(["ruleset"])));
    } catch (error: unknown) {
      if (!(error instanceof FirewallToolError)) throw error;
      unavailable.push(error.message);
    }
  }
  return { chains, unavailable };
}

/** FORWARD of iptables-save's filter table, and whether the cluster network gets through it. */
export function iptablesForward(family: IpFamily, cluster: string, saved: string): ForwardChainState {
  const source = family === 4 ? "iptables" : "ip6tables";
  const policy = /^:FORWARD (\S+)/m.exec(saved)?.[1] ?? "ACCEPT";
  const table = parseIptablesSave(saved).get("filter");
  const rules = (chain: string) =>
    (table?.rules ?? []).filter((r) => r.chain === chain).map((r) => ruleLine("-A", r.chain, r.args));
  const wanted = forwardRules({
    family,
    clusterNetwork: cluster,
    nodeSubnet: cluster,
    masquerade: false,
    forward: true,
    randomFully: false,
  });
  const jumps = (table?.rules ?? []).some((r) => r.chain === "FORWARD" && targetOf(r) === FORWARD_CHAIN.chain);
  const ours =
    jumps && wanted.every((args) => rules(FORWARD_CHAIN.chain).includes(ruleLine("-A", FORWARD_CHAIN.chain, args)));
  const plain = [
    ["-s", cluster, "-j", "ACCEPT"],
    ["-d", cluster, "-j", "ACCEPT"],
  ].every((args) => rules("FORWARD").includes(ruleLine("-A", "FORWARD", args)));
  return { source, policy, acceptsClusterNetwork: ours || plain };
}

/**
 * nftables base chains on the forward hook whose policy is drop, except iptables-nft's own FORWARD
 * (iptables-save reports it): an accept in another table cannot override their drop, so the
 * cluster network must be accepted in the chain itself (`ip saddr <net> accept`, `ip daddr <net> accept`).
 */
export function nftForwardChains(clusters: ClusterNetworks, listing: unknown): ForwardChainState[] {
  const items = (listing === undefined ? [] : (new JsonReader(listing).array("nftables", (i) => i) ?? [])).filter(
    isObject,
  );
  const states: ForwardChainState[] = [];
  for (const item of items) {
    if (!isObject(item["chain"])) continue;
    const chain = new JsonReader(item["chain"]);
    const family = chain.string("family") ?? "";
    const [table, name] = [chain.string("table") ?? "", chain.string("name") ?? ""];
    if (chain.string("hook") !== "forward" || chain.string("policy") !== "drop") continue;
    if ((family === "ip" || family === "ip6") && table === "filter" && name === "FORWARD") continue;
    const protocols = { ip: [4], ip6: [6], inet: [4, 6] }[family] as readonly IpFamily[] | undefined;
    if (protocols === undefined) continue;
    const rules = items
      .map((i) => i["rule"])
      .filter(isObject)
      .filter((r) => r["family"] === family && r["table"] === table && r["chain"] === name);
    const accepted = protocols
      .filter((f) => clusters[f] !== undefined)
      .every((f) =>
        (["saddr", "daddr"] as const).every((field) => rules.some((r) => acceptsPrefix(r, f, field, clusters[f]!))),
      );
    states.push({ source: `nft ${family} ${table} ${name}`, policy: "drop", acceptsClusterNetwork: accepted });
  }
  return states;
}

/** A rule that is exactly `<ip|ip6> <field> <cluster> accept`. */
function acceptsPrefix(
  rule: Readonly<Record<string, unknown>>,
  family: IpFamily,
  field: string,
  cluster: string,
): boolean {
  const expressions = Array.isArray(rule["expr"]) ? rule["expr"].filter(isObject) : [];
  const [addr, len] = cluster.split("/");
  const protocol = family === 4 ? "ip" : "ip6";
  const matches = expressions.some((e) => {
    const match = isObject(e["match"]) ? e["match"] : undefined;
    const left = isObject(match?.["left"]) && isObject(match["left"]["payload"]) ? match["left"]["payload"] : undefined;
    const right =
      isObject(match?.["right"]) && isObject(match["right"]["prefix"]) ? match["right"]["prefix"] : undefined;
    return (
      match?.["op"] === "==" &&
      left?.["protocol"] === protocol &&
      left["field"] === field &&
      right !== undefined &&
      right["addr"] === addr &&
      String(right["len"]) === len
    );
  });
  // Nothing else may narrow it (a counter does not).
  const others = expressions.filter((e) => !("counter" in e));
  return others.length === 2 && matches && others.some((e) => "accept" in e);
}

/** net.bridge.bridge-nf-call-ip(6)tables: "1", "0", or null when br_netfilter is not loaded. */
export function readBrNetfilter(handle: Handle): { iptables: string | null; ip6tables: string | null } {
  const read = (key: string): string | null => {
    try {
      return handle.sysctlRead(`net/bridge/${key}`);
    } catch (error: unknown) {
      if (hasErrorCode(error, "ENOENT")) return null;
      throw error;
    }
  };
  return { iptables: read("bridge-nf-call-iptables"), ip6tables: read("bridge-nf-call-ip6tables") };
}

// The node agent's rules for the pod network, as flanneld installs them (flannel-io/flannel
// pkg/trafficmngr): masquerade of pod traffic leaving the cluster network, no NAT between pods
// (on any node), and FORWARD accept rules for the cluster network (Docker and host firewalls set
// the FORWARD policy to DROP). The layout is flannel's in both backends, so our cleanup removes
// what flanneld left and the other way round:
//
//   iptables (iptables for IPv4, ip6tables for IPv6), see overlay-iptables.ts:
//     nat     POSTROUTING -> FLANNEL-POSTRTG (comment "flanneld masq")
//     filter  FORWARD     -> FLANNEL-FWD     (comment "flanneld forward")
//   nftables, see overlay-nftables.ts:
//     table ip flannel-ipv4 / table ip6 flannel-ipv6, chains postrtg (nat) and forward (filter)
//
// ensureOverlayRules converges: it writes the wanted rules in the chosen backend (rewriting the
// chains whole, so a changed network or subnet replaces the old rules), removes the parts that
// are switched off or whose family is not configured, and removes flannel rules of the other
// backend (flanneld does the same when it starts). Run it at start and on every reconcile.

import type { IpFamily } from "../native/netlink/ip";
import { isWithin, networkOf, parseInterfaceAddress } from "./addresses";
import { ensureIptablesOverlay, removeIptablesOverlay } from "./overlay-iptables";
import { ensureNftablesOverlay, removeNftablesOverlay } from "./overlay-nftables";
import { settleAll } from "./tools";

export type OverlayBackendName = "iptables" | "nftables";

/** One address family's pod networks. */
export interface OverlayNetworks {
  /** The cluster's whole pod network (flannel's `Network` or `IPv6Network`), e.g. "10.244.0.0/16". */
  readonly clusterNetwork: string;
  /** This node's pod subnet (its lease; the network of FLANNEL_SUBNET), e.g. "10.244.1.0/24". */
  readonly nodeSubnet: string;
}

export interface OverlayRulesConfig {
  /** "iptables" (flanneld's default) or "nftables" (flanneld's `EnableNFTables`). */
  readonly backend: OverlayBackendName;
  /** The IPv4 pod networks; absent when IPv4 is not enabled (flannel's `EnableIPv4: false`). */
  readonly ipv4?: OverlayNetworks;
  /** The IPv6 pod networks; absent unless IPv6 is enabled (flannel's `EnableIPv6`). */
  readonly ipv6?: OverlayNetworks;
  /** Masquerade pod traffic leaving the cluster network (flanneld `--ip-masq`). */
  readonly masquerade: boolean;
  /** Accept forwarded traffic from and to the cluster network (flanneld `--iptables-forward-rules`, on by default). */
  readonly forward: boolean;
  /**
   * Masquerade with fully random source ports (`--random-fully`, nft `fully-random`), which
   * flanneld uses unless `--ip-masq-fully-random-disable`; it avoids SNAT port collisions.
   */
  readonly randomFully: boolean;
}

/** The rules one family needs, with canonical CIDRs. */
export interface FamilyOverlay {
  readonly family: IpFamily;
  readonly clusterNetwork: string;
  readonly nodeSubnet: string;
  readonly masquerade: boolean;
  readonly forward: boolean;
  readonly randomFully: boolean;
}

/** Per family: its rules, or undefined when the family is not configured (its rules are removed). */
export type OverlayPlan = Readonly<Record<IpFamily, FamilyOverlay | undefined>>;

export async function ensureOverlayRules(config: OverlayRulesConfig): Promise<void> {
  const plan = planOverlay(config);
  if (config.backend === "nftables") {
    await ensureNftablesOverlay(plan);
    await removeIptablesOverlay();
  } else {
    await ensureIptablesOverlay(plan);
    await removeNftablesOverlay();
  }
}

/** Removes the overlay rules of both backends and both families (the agent's cleanup command). */
export async function removeOverlayRules(): Promise<void> {
  await settleAll([removeIptablesOverlay(), removeNftablesOverlay()]);
}

/** Validates the config (errors name the key) and puts the networks in canonical form. */
export function planOverlay(config: OverlayRulesConfig): OverlayPlan {
  const family = (key: "ipv4" | "ipv6", expected: IpFamily): FamilyOverlay | undefined => {
    const networks = config[key];
    if (networks === undefined) return undefined;
    const clusterNetwork = familyNetwork(`${key}.clusterNetwork`, networks.clusterNetwork, expected);
    const nodeSubnet = familyNetwork(`${key}.nodeSubnet`, networks.nodeSubnet, expected);
    if (!isWithin(nodeSubnet, clusterNetwork)) {
      throw new RangeError(`${key}.nodeSubnet: ${nodeSubnet} is not inside ${key}.clusterNetwork ${clusterNetwork}`);
    }
    const { masquerade, forward, randomFully } = config;
    return { family: expected, clusterNetwork, nodeSubnet, masquerade, forward, randomFully };
  };
  return { 4: family("ipv4", 4), 6: family("ipv6", 6) };
}

function familyNetwork(key: string, text: string, family: IpFamily): string {
  let parsed;
  try {
    parsed = parseInterfaceAddress(text);
  } catch (error: unknown) {
    throw new RangeError(`${key}: invalid CIDR ${JSON.stringify(text)}`, { cause: error });
  }
  if (parsed.family !== family) throw new RangeError(`${key}: ${text} is not an IPv${family} network`);
  return networkOf(text);
}

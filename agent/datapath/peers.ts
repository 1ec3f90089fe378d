// From the lease set to the peers of one address family: which leases are remote nodes this
// device must reach, and whether a peer gets VXLAN entries or (DirectRouting) a plain route.

import type { Lease } from "../lease";
import { canonicalSubnet, isInside } from "./addressing";
import type { Peer } from "./entries";
import { canonicalIp, type IpFamily, ipFamily } from "../../native/netlink/ip";

export interface PeerContext {
  readonly family: IpFamily;
  /** The cluster network of this family; leases outside it are ignored. */
  readonly network: string;
  readonly vni: number;
  /** This node's own lease key and public address of this family: never a peer. */
  readonly ownKey: string | undefined;
  readonly ownPublicIp: string;
  /** DirectRouting: the underlay's on-link prefixes ("192.168.1.11/24"); empty when it is off. */
  readonly directPrefixes: readonly string[];
}

export type SkipReason =
  "own" | "not vxlan" | "no subnet" | "no backend data" | "vni mismatch" | "outside network" | "malformed";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export interface PeerSelection {
  readonly peers: Peer[];
  /** Leases that are not peers, with why (the caller logs what is worth a warning). */
  readonly skipped: { readonly key: string; readonly reason: SkipReason }[];
}

export function selectPeers(leases: Iterable<Lease>, context: PeerContext): PeerSelection {
  return new PeerSelector(context).select(leases);
}

/**
 * selectPeers for one context over a changing lease set: what a lease yields is derived once per
 * lease object (leases are immutable; a store hands a new object when one changes), so a lease
 * event costs the one lease that changed rather than the address parsing of every peer again.
 */
export class PeerSelector {
  private readonly context: PeerContext;
  private readonly derived = new WeakMap<Lease, Peer | SkipReason>();

  constructor(context: PeerContext) {
    this.context = context;
  }

  select(leases: Iterable<Lease>): PeerSelection {
    const peers: Peer[] = [];
    const skipped: PeerSelection["skipped"] = [];
    for (const lease of leases) {
      let result = this.derived.get(lease);
      if (result === undefined) {
        result = peerOf(lease, this.context);
        this.derived.set(lease, result);
      }
      if (typeof result === "string") skipped.push({ key: lease.key, reason: result });
      else peers.push(result);
    }
    return { peers, skipped };
  }
}

function peerOf(lease: Lease, context: PeerContext): Peer | SkipReason {
  const v4 = context.family === 4;
  const subnet = v4 ? lease.subnet : lease.ipv6Subnet;
  const publicIp = v4 ? lease.attrs.publicIp : lease.attrs.publicIpv6;
  const backend = v4 ? lease.attrs.backendData : lease.attrs.backendV6Data;
  if (lease.key === context.ownKey || publicIp === context.ownPublicIp) return "own";
  if (lease.attrs.backendType !== "vxlan") return "not vxlan";
  if (subnet === undefined || publicIp === undefined) return "no subnet";
  if (backend === undefined) return "no backend data";
  if (backend.vni !== context.vni) return "vni mismatch";
  // One bad lease (whatever wrote it) must not stop the others from being programmed.
  if (!MAC.test(backend.vtepMac) || ipFamily(publicIp) !== context.family) return "malformed";
  let canonical: string;
  try {
    canonical = canonicalSubnet(subnet);
  } catch {
    return "malformed";
  }
  if (!isInside(canonical, context.network)) return "outside network";
  return {
    key: lease.key,
    subnet: canonical,
    // The canonical subnet is "<network address>/<length>".
    gateway: canonical.slice(0, canonical.indexOf("/")),
    publicIp: canonicalIp(publicIp),
    vtepMac: backend.vtepMac.toLowerCase(),
    direct: context.directPrefixes.some((prefix) => isInside(publicIp, prefix)),
  };
}

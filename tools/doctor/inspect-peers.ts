// Peers as leased against peers as programmed: the agent's own planning (selectPeers, entriesOf,
// plan) run over the store's leases and what the kernel holds on each VXLAN device. What the plan
// would add is missing from the kernel; what it would remove is stale.

import { canonicalSubnet } from "../../agent/datapath/addressing";
import { entriesOf, type Plan, plan } from "../../agent/datapath/entries";
import { observeEntries } from "../../agent/datapath/kernel-entries";
import { selectPeers } from "../../agent/datapath/peers";
import type { Lease } from "../../agent/lease";
import type { Handle } from "../../native/netlink/handle";
import type { IpFamily } from "../../native/netlink/ip";
import type { VxlanLink } from "../../native/netlink/link";
import { type LinkInspection, overlayDevices } from "./inspect-links";
import type { DevicePeers } from "./report";

export interface OverlayContext {
  /** The cluster network and this node's subnet per family (subnet.env, else net-conf.json). */
  readonly networks: Readonly<Record<IpFamily, { network: string; ownSubnet: string | undefined } | undefined>>;
  readonly directRouting: boolean;
}

export function inspectPeers(
  handle: Handle,
  links: LinkInspection,
  leases: readonly Lease[],
  context: OverlayContext,
): DevicePeers[] {
  return overlayDevices(links).flatMap((device) => {
    const family: IpFamily = device.name.startsWith("flannel-v6") ? 6 : 4;
    const networks = context.networks[family];
    return networks === undefined ? [] : [devicePeers(handle, links, device, family, networks, leases, context)];
  });
}

function devicePeers(
  handle: Handle,
  links: LinkInspection,
  device: VxlanLink,
  family: IpFamily,
  { network, ownSubnet }: { network: string; ownSubnet: string | undefined },
  leases: readonly Lease[],
  context: OverlayContext,
): DevicePeers {
  const underlayIndex = device.underlayIndex ?? 0;
  const own = ownSubnet === undefined ? undefined : leases.find((l) => subnetOf(l, family) === ownSubnet);
  const directPrefixes = context.directRouting
    ? links.addresses
        .filter((a) => a.linkIndex === underlayIndex && a.family === family)
        .map((a) => canonicalSubnet(`${a.address}/${a.prefixLength}`))
    : [];
  const { peers, skipped } = selectPeers(leases, {
    family,
    network,
    vni: device.vni,
    ownKey: own?.key,
    ownPublicIp: device.local ?? "",
    directPrefixes,
  });
  const observed = observeEntries(handle, {
    family,
    deviceIndex: device.index,
    underlayIndex,
    network,
    // Without subnet.env, no subnet of the network is known to be this node's own.
    ownSubnet: ownSubnet ?? (family === 4 ? "255.255.255.255/32" : "ff00::/128"),
  });
  const changes: Plan = plan(entriesOf(peers), observed);
  return {
    device: device.name,
    peers: peers.map((peer) => ({
      lease: peer.key,
      subnet: peer.subnet,
      publicIp: peer.publicIp,
      vtepMac: peer.vtepMac,
      direct: peer.direct,
      route: !changes.add.routes.some((r) => r.dst === peer.subnet),
      neighbour: peer.direct ? null : !changes.add.neighbours.some((n) => n.ip === peer.gateway),
      fdb: peer.direct ? null : !changes.add.fdb.some((e) => e.mac === peer.vtepMac && e.dst === peer.publicIp),
    })),
    ignored: skipped.filter((s) => s.reason !== "own").map((s) => ({ lease: s.key, reason: s.reason })),
    stale: {
      routes: changes.remove.routes.map((r) => `${r.dst} via ${r.gateway}${r.path === "underlay" ? " (direct)" : ""}`),
      neighbours: changes.remove.neighbours.map((n) => `${n.ip} lladdr ${n.mac ?? "(not permanent)"}`),
      fdb: changes.remove.fdb.map((e) => `${e.mac} dst ${e.dst}`),
    },
  };
}

function subnetOf(lease: Lease, family: IpFamily): string | undefined {
  const subnet = family === 4 ? lease.subnet : lease.ipv6Subnet;
  try {
    return subnet === undefined ? undefined : canonicalSubnet(subnet);
  } catch {
    return undefined;
  }
}

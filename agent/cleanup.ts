// What `tscni agent cleanup` removes from the kernel: the VXLAN devices (their neighbour, FDB
// entries and routes go with them) and DirectRouting's routes into the cluster network. The
// overlay rules and subnet.env are removed by the command itself.

import type { Handle } from "../native/netlink/handle";
import { isInside } from "./datapath/addressing";
import { deviceName } from "./datapath/vxlan-device";

export interface DatapathCleanup {
  readonly vni: number;
  /** The cluster networks (either family); routes into them via a gateway are the agent's. */
  readonly networks: readonly string[];
  /** This node's own subnets: never touched. */
  readonly ownSubnets: readonly string[];
}

/** Removes the devices and routes; returns what it removed, for the log. */
export function removeDatapath(handle: Handle, cleanup: DatapathCleanup): string[] {
  const removed: string[] = [];
  for (const name of [deviceName(4, cleanup.vni), deviceName(6, cleanup.vni)]) {
    const link = handle.findLink(name);
    if (link === undefined) continue;
    handle.linkDel(link.index);
    removed.push(`device ${name}`);
  }
  for (const route of handle.routeList()) {
    const ours =
      route.gateway !== undefined &&
      cleanup.networks.some((network) => isInside(route.dst, network)) &&
      !cleanup.ownSubnets.some((subnet) => isInside(route.dst, subnet));
    if (!ours) continue;
    handle.routeDel({
      dst: route.dst,
      gateway: route.gateway,
      ...(route.linkIndex !== undefined ? { linkIndex: route.linkIndex } : {}),
    });
    removed.push(`route ${route.dst} via ${route.gateway}`);
  }
  return removed;
}

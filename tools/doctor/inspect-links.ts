// The node's bridges and VXLAN devices as the kernel has them (netlink dumps, read-only).

import type { Address } from "../../native/netlink/address";
import type { Handle } from "../../native/netlink/handle";
import type { Link, VxlanLink } from "../../native/netlink/link";
import type { BridgeState, VxlanState } from "./report";

/** The agent's devices: flannel.<VNI> and flannel-v6.<VNI>. */
const OVERLAY_DEVICE = /^flannel(-v6)?\.\d+$/;
const RT_SCOPE_LINK = 253;

export interface LinkInspection {
  readonly links: readonly Link[];
  readonly addresses: readonly Address[];
}

export function inspectLinks(handle: Handle): LinkInspection {
  return { links: handle.linkList(), addresses: handle.addrList() };
}

/** Global addresses of a link as "address/prefix". */
function addressesOf(inspection: LinkInspection, index: number): string[] {
  return inspection.addresses
    .filter((a) => a.linkIndex === index && a.scope !== RT_SCOPE_LINK)
    .map((a) => `${a.address}/${a.prefixLength}`);
}

/** Each bridge the networks use (present or not), with its addresses and ports. */
export function bridgeStates(
  inspection: LinkInspection,
  networksByBridge: ReadonlyMap<string, readonly string[]>,
): BridgeState[] {
  return [...networksByBridge].map(([name, networks]) => {
    const link = inspection.links.find((l) => l.name === name);
    if (link === undefined) return { name, networks, present: false, up: false, mtu: null, addresses: [], ports: [] };
    const ports = inspection.links
      .filter((l) => l.masterIndex === link.index)
      .map((l) => ({ name: l.name, kind: l.kind === "other" ? l.infoKind : l.kind, mtu: l.mtu, up: l.up }));
    return {
      name,
      networks,
      present: true,
      up: link.up,
      mtu: link.mtu,
      addresses: addressesOf(inspection, link.index),
      ports,
    };
  });
}

export function vxlanStates(inspection: LinkInspection): VxlanState[] {
  return overlayDevices(inspection).map((link) => ({
    name: link.name,
    vni: link.vni,
    mtu: link.mtu,
    up: link.up,
    local: link.local ?? null,
    underlay: inspection.links.find((l) => l.index === link.underlayIndex)?.name ?? null,
    addresses: addressesOf(inspection, link.index),
  }));
}

export function overlayDevices(inspection: LinkInspection): VxlanLink[] {
  return inspection.links.filter((l): l is VxlanLink => l.kind === "vxlan" && OVERLAY_DEVICE.test(l.name));
}

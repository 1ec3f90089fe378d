// VLANs of bridge ports (`bridge vlan add|del`): RTM_SETLINK / RTM_DELLINK of family AF_BRIDGE whose
// IFLA_AF_SPEC lists struct bridge_vlan_info { u16 flags; u16 vid; } entries. A range travels as two
// entries, RANGE_BEGIN then RANGE_END, so a trunk of thousands of VLANs is still one small message.

import {
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_RANGE_BEGIN,
  BRIDGE_VLAN_INFO_RANGE_END,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA_AF_SPEC,
  IFLA_BRIDGE_VLAN_INFO,
} from "./constants";
import { attr, type Attribute } from "./wire";

export const MIN_VLAN_ID = 1;
export const MAX_VLAN_ID = 4094;

export interface BridgeVlan {
  /** The VLAN id, or the first of a range. */
  readonly vid: number;
  /** The last id of a range (inclusive); a range cannot be the port's PVID. */
  readonly vidEnd?: number;
  /** Untagged frames entering the port are classified into this VLAN. */
  readonly pvid?: boolean;
  /** Frames of this VLAN leave the port without a tag. */
  readonly untagged?: boolean;
}

/** The IFLA_AF_SPEC nest of a `bridge vlan add|del` request. */
export function bridgeVlanSpec(vlans: readonly BridgeVlan[]): Attribute {
  return attr.nest(IFLA_AF_SPEC, vlans.flatMap(vlanEntries));
}

function vlanEntries(vlan: BridgeVlan): Attribute[] {
  checkVid(vlan.vid);
  const flags =
    (vlan.pvid === true ? BRIDGE_VLAN_INFO_PVID : 0) | (vlan.untagged === true ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
  if (vlan.vidEnd === undefined || vlan.vidEnd === vlan.vid) return [vlanInfo(flags, vlan.vid)];
  checkVid(vlan.vidEnd);
  if (vlan.vidEnd < vlan.vid) throw new RangeError(`VLAN range ${vlan.vid}-${vlan.vidEnd} ends before it starts`);
  if (vlan.pvid === true) throw new RangeError(`VLAN range ${vlan.vid}-${vlan.vidEnd} cannot be the PVID`);
  return [
    vlanInfo(flags | BRIDGE_VLAN_INFO_RANGE_BEGIN, vlan.vid),
    vlanInfo(flags | BRIDGE_VLAN_INFO_RANGE_END, vlan.vidEnd),
  ];
}

function vlanInfo(flags: number, vid: number): Attribute {
  const data = new Uint8Array(4);
  const view = new DataView(data.buffer);
  view.setUint16(0, flags, true);
  view.setUint16(2, vid, true);
  return attr.bytes(IFLA_BRIDGE_VLAN_INFO, data);
}

function checkVid(vid: number): void {
  if (!Number.isInteger(vid) || vid < MIN_VLAN_ID || vid > MAX_VLAN_ID) {
    throw new RangeError(`VLAN id ${vid} is not between ${MIN_VLAN_ID} and ${MAX_VLAN_ID}`);
  }
}

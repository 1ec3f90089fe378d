// Neighbours: IP neighbour entries (the ARP and NDP caches) and bridge forwarding-database entries.
// Both travel as RTM_*NEIGH messages; the FDB is the AF_BRIDGE family of them, where NDA_DST is
// not the neighbour's address but, on a VXLAN device, the remote VTEP the MAC lives behind.

import {
  AF_BRIDGE,
  AF_UNSPEC,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VLAN,
  NDA_VNI,
  NTF_MASTER,
  NTF_SELF,
  NUD_PERMANENT,
} from "./constants";
import { familyNumber, type IpFamily, ipFamilyOf, ipToBytes } from "./ip";
import { bytesToMac, macToBytes } from "./link";
import { attr, type Attribute, Attributes, NetlinkDecodeError } from "./wire";

export interface Neighbour {
  readonly linkIndex: number;
  readonly family: IpFamily;
  readonly ip: string;
  /** NDA_LLADDR; undefined while the entry is unresolved (NUD_INCOMPLETE, NUD_FAILED). */
  readonly mac: string | undefined;
  /** NUD_* bits. */
  readonly state: number;
  /** NTF_* bits. */
  readonly flags: number;
}

export interface NeighbourSpec {
  readonly ip: string;
  readonly mac: string;
  /** NUD_*; permanent by default, so the kernel never ages the entry out or probes it. */
  readonly state?: number;
  /** NTF_* bits, e.g. NTF_ROUTER for an IPv6 router. */
  readonly flags?: number;
}

export interface NeighbourFilter {
  readonly linkIndex?: number;
  readonly family?: IpFamily;
}

/** An entry of a bridge's or a VXLAN device's forwarding database. */
export interface FdbEntry {
  readonly linkIndex: number;
  readonly mac: string;
  /** NDA_DST: the remote VTEP of a VXLAN entry. */
  readonly dst: string | undefined;
  /** Reported only where it differs from the device's own VNI. */
  readonly vni: number | undefined;
  /** Reported only where it differs from the device's own destination port. */
  readonly port: number | undefined;
  readonly vlan: number | undefined;
  /** NDA_MASTER: the bridge whose database holds the entry (absent for the device's own). */
  readonly masterIndex: number | undefined;
  /** NTF_SELF: the entry is in the device's own database rather than its master's. */
  readonly self: boolean;
  readonly state: number;
  readonly flags: number;
}

export interface FdbSpec {
  readonly mac: string;
  /** Remote VTEP (NDA_DST) for an entry on a VXLAN device. */
  readonly dst?: string;
  readonly vni?: number;
  /** UDP destination port at that VTEP. */
  readonly port?: number;
  readonly vlan?: number;
  /**
   * Which database: the device's own (NTF_SELF) or its bridge master's (NTF_MASTER). With neither
   * set, the device's own, as `bridge fdb` assumes.
   */
  readonly self?: boolean;
  readonly master?: boolean;
  /** NUD_*; permanent by default. */
  readonly state?: number;
}

export interface FdbFilter {
  readonly linkIndex?: number;
}

// ---------------------------------------------------------------------------------------------
// ndmsg

export interface NdMsg {
  readonly family: number;
  readonly index: number;
  readonly state: number;
  readonly flags: number;
  readonly type: number;
}

export const NDMSG_LENGTH = 12;

export function encodeNdMsg(msg: Partial<NdMsg>): Uint8Array {
  const out = new Uint8Array(NDMSG_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, msg.family ?? 0);
  view.setInt32(4, msg.index ?? 0, true);
  view.setUint16(8, msg.state ?? 0, true);
  view.setUint8(10, msg.flags ?? 0);
  view.setUint8(11, msg.type ?? 0);
  return out;
}

export function decodeNdMsg(payload: Uint8Array): NdMsg {
  if (payload.length < NDMSG_LENGTH) throw new NetlinkDecodeError(`ndmsg of ${payload.length} bytes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    family: view.getUint8(0),
    index: view.getInt32(4, true),
    state: view.getUint16(8, true),
    flags: view.getUint8(10),
    type: view.getUint8(11),
  };
}

/** The ndm_family of a neighbour message (AF_INET, AF_INET6 or AF_BRIDGE), read without decoding it. */
export function neighbourMessageFamily(payload: Uint8Array): number | undefined {
  return payload.length >= NDMSG_LENGTH ? payload[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// IP neighbours

export function neighbourRequest(
  linkIndex: number,
  spec: NeighbourSpec,
): { body: Uint8Array; attributes: Attribute[] } {
  const ip = ipToBytes(spec.ip);
  const body = encodeNdMsg({
    family: familyNumber(ip.length === 4 ? 4 : 6),
    index: linkIndex,
    state: spec.state ?? NUD_PERMANENT,
    flags: spec.flags ?? 0,
  });
  return { body, attributes: [attr.bytes(NDA_DST, ip), attr.bytes(NDA_LLADDR, macToBytes(spec.mac))] };
}

/** A delete names the entry by link and address only. */
export function neighbourDelRequest(linkIndex: number, ip: string): { body: Uint8Array; attributes: Attribute[] } {
  const bytes = ipToBytes(ip);
  const body = encodeNdMsg({ family: familyNumber(bytes.length === 4 ? 4 : 6), index: linkIndex });
  return { body, attributes: [attr.bytes(NDA_DST, bytes)] };
}

/**
 * A dump of both IP families unless one is given (an unspecified family stays out of the FDB,
 * which is another handler); kernels that know the NDA_IFINDEX filter narrow it to the link.
 */
export function neighbourDumpRequest(
  family?: IpFamily,
  linkIndex?: number,
): { body: Uint8Array; attributes: Attribute[] } {
  const attributes = linkIndex === undefined ? [] : [attr.u32(NDA_IFINDEX, linkIndex)];
  return { body: encodeNdMsg({ family: family === undefined ? AF_UNSPEC : familyNumber(family) }), attributes };
}

export function decodeNeighbour(payload: Uint8Array): Neighbour {
  const msg = decodeNdMsg(payload);
  const family = ipFamilyOf(msg.family);
  if (family === undefined) throw new NetlinkDecodeError(`neighbour of family ${msg.family}`);
  const attributes = Attributes.decode(payload.subarray(NDMSG_LENGTH));
  const ip = attributes.ip(NDA_DST, family);
  if (ip === undefined) throw new NetlinkDecodeError("neighbour without NDA_DST");
  const mac = attributes.bytes(NDA_LLADDR);
  return {
    linkIndex: msg.index,
    family,
    ip,
    // Not always six bytes: an IP tunnel's link-layer address is an IP address.
    mac: mac !== undefined ? bytesToMac(mac) : undefined,
    state: msg.state,
    flags: msg.flags,
  };
}

// ---------------------------------------------------------------------------------------------
// Forwarding database

export function fdbRequest(linkIndex: number, spec: FdbSpec): { body: Uint8Array; attributes: Attribute[] } {
  const self = spec.self === true || spec.master !== true;
  const body = encodeNdMsg({
    family: AF_BRIDGE,
    index: linkIndex,
    state: spec.state ?? NUD_PERMANENT,
    flags: (self ? NTF_SELF : 0) | (spec.master === true ? NTF_MASTER : 0),
  });
  const attributes: Attribute[] = [attr.bytes(NDA_LLADDR, macToBytes(spec.mac))];
  if (spec.dst !== undefined) attributes.push(attr.bytes(NDA_DST, ipToBytes(spec.dst)));
  if (spec.vlan !== undefined) attributes.push(attr.u16(NDA_VLAN, spec.vlan));
  if (spec.port !== undefined) attributes.push(attr.u16be(NDA_PORT, spec.port));
  if (spec.vni !== undefined) attributes.push(attr.u32(NDA_VNI, spec.vni));
  return { body, attributes };
}

/**
 * A dump of every FDB. A bare ndmsg is what the kernel accepts without filtering (a filtered
 * dump needs an ifinfomsg header instead, a historical quirk), so the link filter is applied here.
 */
export function fdbDumpRequest(): { body: Uint8Array; attributes: Attribute[] } {
  return { body: encodeNdMsg({ family: AF_BRIDGE }), attributes: [] };
}

export function decodeFdbEntry(payload: Uint8Array): FdbEntry {
  const msg = decodeNdMsg(payload);
  if (msg.family !== AF_BRIDGE) throw new NetlinkDecodeError(`FDB entry of family ${msg.family}`);
  const attributes = Attributes.decode(payload.subarray(NDMSG_LENGTH));
  const mac = attributes.bytes(NDA_LLADDR);
  if (mac === undefined) throw new NetlinkDecodeError("FDB entry without NDA_LLADDR");
  return {
    linkIndex: msg.index,
    mac: bytesToMac(mac),
    dst: attributes.ip(NDA_DST),
    vni: attributes.u32(NDA_VNI),
    port: attributes.u16be(NDA_PORT),
    vlan: attributes.u16(NDA_VLAN),
    masterIndex: attributes.u32(NDA_MASTER),
    self: (msg.flags & NTF_SELF) !== 0,
    state: msg.state,
    flags: msg.flags,
  };
}

// Links: what the kernel reports (Link, a union keyed by kind over shared attributes), what a caller
// asks to create (LinkSpec), and their encodings as RTM_*LINK messages.

import {
  AF_UNSPEC,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BR_VLAN_DEFAULT_PVID,
  IFLA_BR_VLAN_FILTERING,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_TXQLEN,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_TTL,
  OPER_STATES,
  VETH_INFO_PEER,
} from "./constants";
import { bytesToIp, ipFamily, ipToBytes } from "./ip";
import { attr, type Attribute, Attributes, encodeAttributes, NetlinkDecodeError } from "./wire";

export type OperState = (typeof OPER_STATES)[number];

/** Attributes every link has, whatever its kind. */
export interface LinkBase {
  readonly index: number;
  readonly name: string;
  /** ifi_flags (IFF_*). */
  readonly flags: number;
  readonly up: boolean;
  readonly operState: OperState;
  readonly mtu: number;
  /** Hardware address as "aa:bb:cc:dd:ee:ff"; undefined for links without one. */
  readonly mac: string | undefined;
  readonly masterIndex: number | undefined;
  /** IFLA_LINK: for a veth, the peer's index (in the peer's namespace when linkNetnsId is set). */
  readonly parentIndex: number | undefined;
  readonly linkNetnsId: number | undefined;
  readonly txQueueLength: number | undefined;
  readonly alias: string | undefined;
  /** The kind of master this link is a port of, e.g. "bridge". */
  readonly portKind: string | undefined;
}

export interface DeviceLink extends LinkBase {
  /** No IFLA_INFO_KIND: a physical device or the loopback. */
  readonly kind: "device";
}
export interface BridgeLink extends LinkBase {
  readonly kind: "bridge";
  readonly vlanFiltering: boolean;
  /** The VLAN a new port joins as PVID and untagged; 0 for none (undefined: not reported). */
  readonly vlanDefaultPvid: number | undefined;
}
export interface VethLink extends LinkBase {
  readonly kind: "veth";
}
export interface VxlanLink extends LinkBase {
  readonly kind: "vxlan";
  readonly vni: number;
  readonly local: string | undefined;
  readonly group: string | undefined;
  readonly underlayIndex: number | undefined;
  readonly port: number;
  readonly learning: boolean;
  readonly gbp: boolean;
}
export interface OtherLink extends LinkBase {
  readonly kind: "other";
  /** IFLA_INFO_KIND as the kernel names it, e.g. "dummy". */
  readonly infoKind: string;
}

export type Link = DeviceLink | BridgeLink | VethLink | VxlanLink | OtherLink;

/** Settings shared by every kind of link a caller creates. */
export interface LinkSpecBase {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly txQueueLength?: number;
  readonly masterIndex?: number;
  readonly up?: boolean;
  /** Create the link directly in the namespace at this path instead of the handle's own. */
  readonly netnsPath?: string;
}

export interface VethPeerSpec {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** Create the peer in the namespace at this path (the host end of a pod's veth). */
  readonly netnsPath?: string;
}

export type LinkSpec =
  | (LinkSpecBase & { readonly kind: "bridge"; readonly vlanFiltering?: boolean })
  | (LinkSpecBase & { readonly kind: "veth"; readonly peer: VethPeerSpec })
  | (LinkSpecBase & {
      readonly kind: "vxlan";
      readonly vni: number;
      readonly local?: string;
      readonly group?: string;
      readonly underlayIndex?: number;
      /** UDP destination port; the kernel's default is 8472 only by accident of history, so set it. */
      readonly port?: number;
      readonly learning?: boolean;
      readonly gbp?: boolean;
      readonly ttl?: number;
    })
  | (LinkSpecBase & { readonly kind: "dummy" });

/** Changes to an existing link in one request, as one `ip link set` line makes them. */
export interface LinkChange {
  readonly up?: boolean;
  readonly promisc?: boolean;
  readonly mtu?: number;
  /** Setting a link's MAC, even to its current value, also pins it (addr_assign_type "set"). */
  readonly mac?: string;
  /** Options of a bridge (IFLA_LINKINFO kind "bridge"); only for bridges. */
  readonly bridge?: { readonly vlanFiltering?: boolean };
}

// ---------------------------------------------------------------------------------------------
// ifinfomsg

export interface IfInfo {
  readonly family: number;
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  readonly change: number;
}

export const IFINFOMSG_LENGTH = 16;

export function encodeIfInfo(info: Partial<IfInfo>): Uint8Array {
  const out = new Uint8Array(IFINFOMSG_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, info.family ?? AF_UNSPEC);
  view.setUint16(2, info.type ?? 0, true);
  view.setInt32(4, info.index ?? 0, true);
  view.setUint32(8, info.flags ?? 0, true);
  view.setUint32(12, info.change ?? 0, true);
  return out;
}

export function decodeIfInfo(payload: Uint8Array): IfInfo {
  if (payload.length < IFINFOMSG_LENGTH) throw new NetlinkDecodeError(`ifinfomsg of ${payload.length} bytes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    family: view.getUint8(0),
    type: view.getUint16(2, true),
    index: view.getInt32(4, true),
    flags: view.getUint32(8, true),
    change: view.getUint32(12, true),
  };
}

// ---------------------------------------------------------------------------------------------
// MAC addresses

// No Array.from or Uint8Array.from here: JavaScriptCore compiles them from their JavaScript source
// at first use, 300 to 400 thousand instructions each, which every plugin process would pay.

export function macToBytes(mac: string): Uint8Array {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac))
    throw new RangeError(`invalid MAC address ${JSON.stringify(mac)}`);
  return new Uint8Array(mac.split(":").map((octet) => Number.parseInt(octet, 16)));
}

export function bytesToMac(bytes: Uint8Array): string {
  return hexOctets(bytes, ":");
}

/** Each byte as two lower-case hex digits, joined by `separator`. */
export function hexOctets(bytes: Uint8Array, separator: string): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    text += `${i === 0 ? "" : separator}${byte < 16 ? "0" : ""}${byte.toString(16)}`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Decoding RTM_NEWLINK

export function decodeLink(payload: Uint8Array): Link {
  const info = decodeIfInfo(payload);
  const attributes = Attributes.decode(payload.subarray(IFINFOMSG_LENGTH));
  const address = attributes.bytes(IFLA_ADDRESS);
  const operState = OPER_STATES[attributes.u8(IFLA_OPERSTATE) ?? 0] ?? "unknown";
  const linkInfo = attributes.nested(IFLA_LINKINFO);
  const base: LinkBase = {
    index: info.index,
    name: attributes.string(IFLA_IFNAME) ?? "",
    flags: info.flags,
    up: (info.flags & IFF_UP) !== 0,
    operState,
    mtu: attributes.u32(IFLA_MTU) ?? 0,
    mac: address !== undefined && address.length === 6 ? bytesToMac(address) : undefined,
    masterIndex: attributes.u32(IFLA_MASTER),
    parentIndex: attributes.u32(IFLA_LINK),
    linkNetnsId: attributes.i32(IFLA_LINK_NETNSID),
    txQueueLength: attributes.u32(IFLA_TXQLEN),
    alias: attributes.string(IFLA_IFALIAS),
    portKind: linkInfo?.string(IFLA_INFO_SLAVE_KIND),
  };
  const kind = linkInfo?.string(IFLA_INFO_KIND);
  const data = linkInfo?.nested(IFLA_INFO_DATA);
  switch (kind) {
    case undefined:
      return { ...base, kind: "device" };
    case "bridge":
      return {
        ...base,
        kind: "bridge",
        vlanFiltering: (data?.u8(IFLA_BR_VLAN_FILTERING) ?? 0) !== 0,
        vlanDefaultPvid: data?.u16(IFLA_BR_VLAN_DEFAULT_PVID),
      };
    case "veth":
      return { ...base, kind: "veth" };
    case "vxlan":
      return decodeVxlan(base, data);
    default:
      return { ...base, kind: "other", infoKind: kind };
  }
}

function decodeVxlan(base: LinkBase, data: Attributes | undefined): VxlanLink {
  const local = data?.bytes(IFLA_VXLAN_LOCAL) ?? data?.bytes(IFLA_VXLAN_LOCAL6);
  const group = data?.bytes(IFLA_VXLAN_GROUP) ?? data?.bytes(IFLA_VXLAN_GROUP6);
  const underlayIndex = data?.u32(IFLA_VXLAN_LINK);
  return {
    ...base,
    kind: "vxlan",
    vni: data?.u32(IFLA_VXLAN_ID) ?? 0,
    local: local !== undefined ? bytesToIp(local) : undefined,
    group: group !== undefined ? bytesToIp(group) : undefined,
    underlayIndex: underlayIndex !== 0 ? underlayIndex : undefined,
    port: data?.u16be(IFLA_VXLAN_PORT) ?? 0,
    learning: (data?.u8(IFLA_VXLAN_LEARNING) ?? 0) !== 0,
    gbp: data?.has(IFLA_VXLAN_GBP) ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding RTM_NEWLINK for changes

/** The ifinfomsg and attributes of an RTM_NEWLINK that applies `change` to link `index`. */
export function linkChangeRequest(index: number, change: LinkChange): { body: Uint8Array; attributes: Attribute[] } {
  let flags = 0;
  let mask = 0;
  if (change.up !== undefined) {
    mask |= IFF_UP;
    if (change.up) flags |= IFF_UP;
  }
  if (change.promisc !== undefined) {
    mask |= IFF_PROMISC;
    if (change.promisc) flags |= IFF_PROMISC;
  }
  const attributes: Attribute[] = [];
  if (change.mtu !== undefined) attributes.push(attr.u32(IFLA_MTU, change.mtu));
  if (change.mac !== undefined) attributes.push(attr.bytes(IFLA_ADDRESS, macToBytes(change.mac)));
  const bridgeData: Attribute[] = [];
  if (change.bridge?.vlanFiltering !== undefined) {
    bridgeData.push(attr.u8(IFLA_BR_VLAN_FILTERING, change.bridge.vlanFiltering ? 1 : 0));
  }
  if (bridgeData.length > 0) {
    attributes.push(
      attr.nest(IFLA_LINKINFO, [attr.string(IFLA_INFO_KIND, "bridge"), attr.nest(IFLA_INFO_DATA, bridgeData)]),
    );
  }
  return { body: encodeIfInfo({ index, flags, change: mask }), attributes };
}

// ---------------------------------------------------------------------------------------------
// Encoding RTM_NEWLINK for creation

/** Opens namespace paths into descriptors for IFLA_NET_NS_FD; supplied by the handle. */
export type NetnsFdResolver = (path: string) => number;

/** The attributes of a new link; `netnsFd` turns a namespace path into an open descriptor. */
export function linkSpecAttributes(spec: LinkSpec, netnsFd: NetnsFdResolver): Attribute[] {
  const attributes = commonAttributes(spec, netnsFd);
  attributes.push(attr.nest(IFLA_LINKINFO, [attr.string(IFLA_INFO_KIND, spec.kind), ...kindData(spec, netnsFd)]));
  return attributes;
}

function commonAttributes(spec: LinkSpecBase, netnsFd: NetnsFdResolver): Attribute[] {
  const attributes: Attribute[] = [attr.string(IFLA_IFNAME, spec.name)];
  if (spec.mtu !== undefined) attributes.push(attr.u32(IFLA_MTU, spec.mtu));
  if (spec.mac !== undefined) attributes.push(attr.bytes(IFLA_ADDRESS, macToBytes(spec.mac)));
  if (spec.txQueueLength !== undefined) attributes.push(attr.u32(IFLA_TXQLEN, spec.txQueueLength));
  if (spec.masterIndex !== undefined) attributes.push(attr.u32(IFLA_MASTER, spec.masterIndex));
  if (spec.netnsPath !== undefined) attributes.push(attr.u32(IFLA_NET_NS_FD, netnsFd(spec.netnsPath)));
  return attributes;
}

function kindData(spec: LinkSpec, netnsFd: NetnsFdResolver): Attribute[] {
  switch (spec.kind) {
    case "bridge":
      // Off is the kernel's default, and kernels built without VLAN filtering reject the attribute
      // whatever its value, so it is sent only to turn filtering on.
      return spec.vlanFiltering === true ? [attr.nest(IFLA_INFO_DATA, [attr.u8(IFLA_BR_VLAN_FILTERING, 1)])] : [];
    case "veth": {
      // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own attributes.
      const peer = spec.peer;
      const peerAttributes = commonAttributes(peer, netnsFd);
      const data = new Uint8Array([...encodeIfInfo({}), ...encodeAttributes(peerAttributes)]);
      return [attr.nest(IFLA_INFO_DATA, [attr.bytes(VETH_INFO_PEER, data)])];
    }
    case "vxlan":
      return [attr.nest(IFLA_INFO_DATA, vxlanData(spec))];
    case "dummy":
      return [];
  }
}

function vxlanData(spec: Extract<LinkSpec, { kind: "vxlan" }>): Attribute[] {
  const data: Attribute[] = [attr.u32(IFLA_VXLAN_ID, spec.vni)];
  if (spec.local !== undefined) {
    data.push(attr.bytes(ipFamily(spec.local) === 6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, ipToBytes(spec.local)));
  }
  if (spec.group !== undefined) {
    data.push(attr.bytes(ipFamily(spec.group) === 6 ? IFLA_VXLAN_GROUP6 : IFLA_VXLAN_GROUP, ipToBytes(spec.group)));
  }
  if (spec.underlayIndex !== undefined) data.push(attr.u32(IFLA_VXLAN_LINK, spec.underlayIndex));
  if (spec.ttl !== undefined) data.push(attr.u8(IFLA_VXLAN_TTL, spec.ttl));
  if (spec.port !== undefined) data.push(attr.u16be(IFLA_VXLAN_PORT, spec.port));
  if (spec.learning !== undefined) data.push(attr.u8(IFLA_VXLAN_LEARNING, spec.learning ? 1 : 0));
  if (spec.gbp === true) data.push(attr.flag(IFLA_VXLAN_GBP));
  return data;
}

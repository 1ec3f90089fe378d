// Routes: what a dump reports (Route) and what a caller asks for (RouteSpec), as RTM_*ROUTE
// messages. Defaults follow iproute2, so a RouteSpec means what the same `ip route` line would.

import {
  ROUTE_TYPES,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from "./constants";
import { familyNumber, type IpFamily, ipFamily, ipFamilyOf, ipToBytes, parseCidr } from "./ip";
import { align4, attr, type Attribute, Attributes, NetlinkDecodeError } from "./wire";

export type RouteType = (typeof ROUTE_TYPES)[number];

/** One next hop of a multipath route (RTA_MULTIPATH). */
export interface NextHop {
  readonly linkIndex: number;
  readonly gateway: string | undefined;
  /** rtnh_flags (RTNH_F_*). */
  readonly flags: number;
  /** The relative weight, 1 to 256 (the kernel stores weight - 1). */
  readonly weight: number;
}

export interface Route {
  readonly family: IpFamily;
  /** Always a CIDR: "0.0.0.0/0" or "::/0" for a default route, "10.0.0.1/32" for a host route. */
  readonly dst: string;
  readonly gateway: string | undefined;
  /** RTA_OIF; undefined for routes without one, such as blackholes and multipath routes. */
  readonly linkIndex: number | undefined;
  readonly onlink: boolean;
  /** rtm_flags (RTNH_F_* of the route's only next hop, RTM_F_*). */
  readonly flags: number;
  /** RT_SCOPE_*. */
  readonly scope: number;
  readonly table: number;
  /** The metric; 0 when the kernel reports none. */
  readonly priority: number;
  /** RTPROT_*. */
  readonly protocol: number;
  readonly type: RouteType;
  readonly prefsrc: string | undefined;
  readonly mtu: number | undefined;
  readonly advmss: number | undefined;
  /** The next hops of a multipath route; empty for a single-path one. */
  readonly multipath: readonly NextHop[];
}

export interface RouteSpec {
  /** "10.1.0.0/16", "fd00::/64", or "0.0.0.0/0" / "::/0" for a default route. */
  readonly dst: string;
  /** Must be of the destination's family (IPv4 routes through IPv6 next hops are not offered). */
  readonly gateway?: string;
  readonly linkIndex?: number;
  /** Use the gateway even though no address of the link covers it (RTNH_F_ONLINK). */
  readonly onlink?: boolean;
  /**
   * RT_SCOPE_*. Left undefined, it is derived as iproute2 does: host for local and nat routes,
   * link for broadcast, multicast, anycast and unicast routes without a gateway, else universe.
   * A delete matches any scope unless one is given.
   */
  readonly scope?: number;
  /** Table id, main by default; ids above 255 travel in RTA_TABLE. */
  readonly table?: number;
  /** The metric (RTA_PRIORITY); the kernel uses 0 for IPv4 and 1024 for IPv6 when it is unset. */
  readonly priority?: number;
  /** RTPROT_*; "boot" by default, as iproute2. A delete matches any protocol unless one is given. */
  readonly protocol?: number;
  /** "unicast" by default; a delete matches any type unless one is given. */
  readonly type?: RouteType;
  readonly prefsrc?: string;
  readonly mtu?: number;
  readonly advmss?: number;
}

/** A route to add or replace ("change"), or the fields a deleted route must match ("delete"). */
export type RoutePurpose = "change" | "delete";

export interface RouteFilter {
  readonly family?: IpFamily;
  /** Main by default; RT_TABLE_UNSPEC (0) lists every table. */
  readonly table?: number;
  /** Routes through this link, as the single output link or as one of the next hops. */
  readonly linkIndex?: number;
}

// ---------------------------------------------------------------------------------------------
// rtmsg

export interface RtMsg {
  readonly family: number;
  readonly dstLength: number;
  readonly srcLength: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

export const RTMSG_LENGTH = 12;

export function encodeRtMsg(msg: Partial<RtMsg>): Uint8Array {
  const out = new Uint8Array(RTMSG_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, msg.family ?? 0);
  view.setUint8(1, msg.dstLength ?? 0);
  view.setUint8(2, msg.srcLength ?? 0);
  view.setUint8(3, msg.tos ?? 0);
  view.setUint8(4, msg.table ?? 0);
  view.setUint8(5, msg.protocol ?? 0);
  view.setUint8(6, msg.scope ?? 0);
  view.setUint8(7, msg.type ?? 0);
  view.setUint32(8, msg.flags ?? 0, true);
  return out;
}

export function decodeRtMsg(payload: Uint8Array): RtMsg {
  if (payload.length < RTMSG_LENGTH) throw new NetlinkDecodeError(`rtmsg of ${payload.length} bytes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    family: view.getUint8(0),
    dstLength: view.getUint8(1),
    srcLength: view.getUint8(2),
    tos: view.getUint8(3),
    table: view.getUint8(4),
    protocol: view.getUint8(5),
    scope: view.getUint8(6),
    type: view.getUint8(7),
    flags: view.getUint32(8, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding RTM_NEWROUTE / RTM_DELROUTE

export function routeRequest(spec: RouteSpec, purpose: RoutePurpose): { body: Uint8Array; attributes: Attribute[] } {
  const dst = parseCidr(spec.dst);
  for (const [name, address] of [
    ["gateway", spec.gateway],
    ["prefsrc", spec.prefsrc],
  ] as const) {
    if (address !== undefined && ipFamily(address) !== dst.family) {
      throw new RangeError(`${name} ${address} is not of the family of ${spec.dst}`);
    }
  }
  const table = inRange("table", spec.table ?? RT_TABLE_MAIN, 0xffffffff);
  const change = purpose === "change";
  const type = spec.type ?? (change ? "unicast" : "unspec");
  const body = encodeRtMsg({
    family: familyNumber(dst.family),
    dstLength: dst.prefixLength,
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    protocol: inRange("protocol", spec.protocol ?? (change ? RTPROT_BOOT : RTPROT_UNSPEC), 0xff),
    scope: inRange(
      "scope",
      spec.scope ?? (change ? defaultScope(type, spec.gateway !== undefined) : RT_SCOPE_NOWHERE),
      0xff,
    ),
    type: ROUTE_TYPES.indexOf(type),
    flags: spec.onlink === true ? RTNH_F_ONLINK : 0,
  });

  // A default route carries no RTA_DST, as iproute2 sends it.
  const attributes: Attribute[] = dst.prefixLength > 0 ? [attr.bytes(RTA_DST, ipToBytes(dst.address))] : [];
  if (spec.prefsrc !== undefined) attributes.push(attr.bytes(RTA_PREFSRC, ipToBytes(spec.prefsrc)));
  if (spec.gateway !== undefined) attributes.push(attr.bytes(RTA_GATEWAY, ipToBytes(spec.gateway)));
  if (spec.linkIndex !== undefined) attributes.push(attr.u32(RTA_OIF, spec.linkIndex));
  if (spec.priority !== undefined) attributes.push(attr.u32(RTA_PRIORITY, spec.priority));
  if (table >= 256) attributes.push(attr.u32(RTA_TABLE, table));
  const metrics: Attribute[] = [];
  if (spec.mtu !== undefined) metrics.push(attr.u32(RTAX_MTU, spec.mtu));
  if (spec.advmss !== undefined) metrics.push(attr.u32(RTAX_ADVMSS, spec.advmss));
  if (metrics.length > 0) attributes.push(attr.nest(RTA_METRICS, metrics));
  return { body, attributes };
}

function defaultScope(type: RouteType, hasGateway: boolean): number {
  switch (type) {
    case "local":
    case "nat":
      return RT_SCOPE_HOST;
    case "broadcast":
    case "multicast":
    case "anycast":
      return RT_SCOPE_LINK;
    case "unicast":
    case "unspec":
      return hasGateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    default:
      return RT_SCOPE_UNIVERSE;
  }
}

// DataView would silently wrap an out-of-range value into some other table, protocol or scope.
function inRange(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`route ${name} ${value} is not 0-${max}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Decoding RTM_NEWROUTE

/** The rtm_family of a route message, read without decoding the rest. */
export function routeFamily(payload: Uint8Array): IpFamily | undefined {
  return payload.length >= RTMSG_LENGTH ? ipFamilyOf(payload[0] ?? 0) : undefined;
}

/** Decodes an RTM_NEWROUTE of an IP family (dumps also carry other families; skip them first). */
export function decodeRoute(payload: Uint8Array): Route {
  const msg = decodeRtMsg(payload);
  const family = ipFamilyOf(msg.family);
  if (family === undefined) throw new NetlinkDecodeError(`route of family ${msg.family}`);
  const attributes = Attributes.decode(payload.subarray(RTMSG_LENGTH));
  const dst = attributes.ip(RTA_DST, family) ?? (family === 4 ? "0.0.0.0" : "::");
  const metrics = attributes.nested(RTA_METRICS);
  const multipath = attributes.bytes(RTA_MULTIPATH);
  return {
    family,
    dst: `${dst}/${msg.dstLength}`,
    gateway: attributes.ip(RTA_GATEWAY, family),
    linkIndex: attributes.u32(RTA_OIF),
    onlink: (msg.flags & RTNH_F_ONLINK) !== 0,
    flags: msg.flags,
    scope: msg.scope,
    table: attributes.u32(RTA_TABLE) ?? msg.table,
    priority: attributes.u32(RTA_PRIORITY) ?? 0,
    protocol: msg.protocol,
    type: ROUTE_TYPES[msg.type] ?? "unspec",
    prefsrc: attributes.ip(RTA_PREFSRC, family),
    mtu: metrics?.u32(RTAX_MTU),
    advmss: metrics?.u32(RTAX_ADVMSS),
    multipath: multipath === undefined ? [] : decodeNextHops(multipath, family),
  };
}

/** RTA_MULTIPATH is a list of struct rtnexthop, each followed by its own attributes. */
function decodeNextHops(bytes: Uint8Array, family: IpFamily): NextHop[] {
  const RTNH_LENGTH = 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hops: NextHop[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = offset + RTNH_LENGTH <= bytes.length ? view.getUint16(offset, true) : 0;
    if (length < RTNH_LENGTH || offset + length > bytes.length) {
      throw new NetlinkDecodeError(`rtnexthop length ${length} at offset ${offset} of ${bytes.length}`);
    }
    const attributes = Attributes.decode(bytes.subarray(offset + RTNH_LENGTH, offset + length));
    hops.push({
      linkIndex: view.getInt32(offset + 4, true),
      gateway: attributes.ip(RTA_GATEWAY, family),
      flags: view.getUint8(offset + 2),
      weight: view.getUint8(offset + 3) + 1,
    });
    offset += align4(length);
  }
  return hops;
}

export function matchesRouteFilter(route: Route, filter: RouteFilter): boolean {
  const table = filter.table ?? RT_TABLE_MAIN;
  return (
    (filter.family === undefined || route.family === filter.family) &&
    (table === RT_TABLE_UNSPEC || route.table === table) &&
    (filter.linkIndex === undefined ||
      route.linkIndex === filter.linkIndex ||
      route.multipath.some((hop) => hop.linkIndex === filter.linkIndex))
  );
}

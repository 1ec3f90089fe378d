// A Handle is "where am I operating": one rtnetlink socket opened inside one network namespace,
// with methods named after iproute2 verbs. The socket keeps its namespace after the native call
// that opened it returns, so no code ever runs inside a foreign namespace.

import { closeSync, openSync } from "node:fs";

import { checkSysctlKey, type NativeBinding } from "../binding";
import { loadNative } from "../loader";
import { addressRequest, type Address, type AddressSpec, decodeAddress, encodeIfAddr } from "./address";
import { type BridgeVlan, bridgeVlanSpec } from "./bridge-vlan";
import { NetlinkConnection, type Request } from "./connection";
import {
  AF_BRIDGE,
  AF_UNSPEC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_PROTINFO,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_SETLINK,
} from "./constants";
import { isNetlinkError, LinkNotFoundError } from "./errors";
import {
  changeFdb,
  changeRoute,
  deleteNeighbour,
  listFdb,
  listNeighbours,
  listRoutes,
  replaceNeighbour,
} from "./forwarding";
import { familyNumber, type IpFamily, ipFamilyOf } from "./ip";
import {
  decodeLink,
  encodeIfInfo,
  type Link,
  type LinkChange,
  linkChangeRequest,
  linkSpecAttributes,
  type LinkSpec,
  macToBytes,
} from "./link";
import type { FdbEntry, FdbFilter, FdbSpec, Neighbour, NeighbourFilter, NeighbourSpec } from "./neighbour";
import type { Route, RouteFilter, RouteSpec } from "./route";
import { attr, type Attribute } from "./wire";

export interface BridgePortFlags {
  readonly hairpin?: boolean;
  readonly isolated?: boolean;
  readonly learning?: boolean;
}

export interface AddressFilter {
  readonly linkIndex?: number;
  readonly family?: IpFamily;
}

/** Opens a handle in the namespace at `netnsPath`, or in the current one when it is omitted. */
export async function openHandle(netnsPath?: string): Promise<Handle> {
  return Handle.open(await loadNative(), netnsPath);
}

export class Handle {
  /** The namespace this handle operates in; undefined for the process's own. */
  readonly netnsPath: string | undefined;
  private readonly native: NativeBinding;
  private readonly connection: NetlinkConnection;

  private constructor(native: NativeBinding, connection: NetlinkConnection, netnsPath: string | undefined) {
    this.native = native;
    this.connection = connection;
    this.netnsPath = netnsPath;
  }

  static open(native: NativeBinding, netnsPath?: string): Handle {
    const connection = NetlinkConnection.open(native, NETLINK_ROUTE, netnsPath ?? null);
    return new Handle(native, connection, netnsPath);
  }

  close(): void {
    this.connection.close();
  }

  // -------------------------------------------------------------------------------------------
  // Links

  linkList(): Link[] {
    return this.connection
      .dump({ operation: "linkList", type: RTM_GETLINK, body: encodeIfInfo({}), attributes: [skipStats()] })
      .filter((m) => m.type === RTM_NEWLINK)
      .map((m) => decodeLink(m.payload));
  }

  /** Throws LinkNotFoundError when no link has this name. */
  linkByName(name: string): Link {
    return this.getLink(name, { body: encodeIfInfo({}), attributes: [attr.string(IFLA_IFNAME, name), skipStats()] });
  }

  /** Throws LinkNotFoundError when no link has this index. */
  linkByIndex(index: number): Link {
    return this.getLink(index, { body: encodeIfInfo({ index }), attributes: [skipStats()] });
  }

  /** The link, or undefined when it does not exist. */
  findLink(name: string): Link | undefined {
    try {
      return this.linkByName(name);
    } catch (error: unknown) {
      if (error instanceof LinkNotFoundError) return undefined;
      throw error;
    }
  }

  private getLink(key: string | number, request: Pick<Request, "body" | "attributes">): Link {
    try {
      const replies = this.connection.execute({ operation: `linkGet ${key}`, type: RTM_GETLINK, ...request });
      const reply = replies.find((m) => m.type === RTM_NEWLINK);
      if (reply === undefined) throw new LinkNotFoundError(key);
      return decodeLink(reply.payload);
    } catch (error: unknown) {
      if (isNetlinkError(error, "ENODEV")) throw new LinkNotFoundError(key, { cause: error });
      throw error;
    }
  }

  /** Creates a link; fails with EEXIST when the name is taken. */
  linkAdd(spec: LinkSpec): void {
    const fds: number[] = [];
    try {
      const attributes = linkSpecAttributes(spec, (path) => {
        const fd = openSync(path, "r");
        fds.push(fd);
        return fd;
      });
      this.connection.execute({
        operation: `linkAdd ${spec.kind} ${spec.name}`,
        type: RTM_NEWLINK,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        body: encodeIfInfo(spec.up === true ? { flags: IFF_UP, change: IFF_UP } : {}),
        attributes,
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  linkDel(index: number): void {
    this.connection.execute({ operation: `linkDel #${index}`, type: RTM_DELLINK, body: encodeIfInfo({ index }) });
  }

  linkSetUp(index: number): void {
    this.setLink(`linkSetUp #${index}`, index, [], IFF_UP);
  }

  linkSetDown(index: number): void {
    this.setLink(`linkSetDown #${index}`, index, [], 0);
  }

  linkSetMtu(index: number, mtu: number): void {
    this.setLink(`linkSetMtu #${index} ${mtu}`, index, [attr.u32(IFLA_MTU, mtu)]);
  }

  linkSetMac(index: number, mac: string): void {
    this.setLink(`linkSetMac #${index} ${mac}`, index, [attr.bytes(IFLA_ADDRESS, macToBytes(mac))]);
  }

  linkSetName(index: number, name: string): void {
    this.setLink(`linkSetName #${index} ${name}`, index, [attr.string(IFLA_IFNAME, name)]);
  }

  /** Enslaves the link to `masterIndex`, or releases it from its master with null. */
  linkSetMaster(index: number, masterIndex: number | null): void {
    this.setLink(`linkSetMaster #${index} ${masterIndex ?? "nomaster"}`, index, [
      attr.u32(IFLA_MASTER, masterIndex ?? 0),
    ]);
  }

  /** Moves the link into the namespace at `netnsPath`. */
  linkSetNetns(index: number, netnsPath: string): void {
    const fd = openSync(netnsPath, "r");
    try {
      this.setLink(`linkSetNetns #${index} ${netnsPath}`, index, [attr.u32(IFLA_NET_NS_FD, fd)]);
    } finally {
      closeSync(fd);
    }
  }

  /** Sets flags of a bridge port (the link must be enslaved to a bridge); unset ones are untouched. */
  linkSetBridgePort(index: number, flags: BridgePortFlags): void {
    const protinfo: Attribute[] = [];
    if (flags.hairpin !== undefined) protinfo.push(attr.u8(IFLA_BRPORT_MODE, flags.hairpin ? 1 : 0));
    if (flags.isolated !== undefined) protinfo.push(attr.u8(IFLA_BRPORT_ISOLATED, flags.isolated ? 1 : 0));
    if (flags.learning !== undefined) protinfo.push(attr.u8(IFLA_BRPORT_LEARNING, flags.learning ? 1 : 0));
    this.connection.execute({
      operation: `linkSetBridgePort #${index}`,
      type: RTM_SETLINK,
      body: encodeIfInfo({ family: AF_BRIDGE, index }),
      attributes: [attr.nest(IFLA_PROTINFO, protinfo)],
    });
  }

  /** Applies several changes to a link in one request (`ip link set dev X up promisc on ...`). */
  linkSet(index: number, change: LinkChange): void {
    this.connection.execute({ operation: `linkSet #${index}`, type: RTM_NEWLINK, ...linkChangeRequest(index, change) });
  }

  /** `bridge vlan add`: adds VLANs to a bridge port (an existing one gets the new flags). */
  bridgeVlanAdd(index: number, vlans: readonly BridgeVlan[]): void {
    this.changeBridgeVlans(`bridgeVlanAdd #${index}`, RTM_SETLINK, index, vlans);
  }

  /** `bridge vlan del`: removes VLANs from a bridge port (the kernel ignores VLANs the port lacks). */
  bridgeVlanDel(index: number, vlans: readonly BridgeVlan[]): void {
    this.changeBridgeVlans(`bridgeVlanDel #${index}`, RTM_DELLINK, index, vlans);
  }

  private changeBridgeVlans(operation: string, type: number, index: number, vlans: readonly BridgeVlan[]): void {
    const body = encodeIfInfo({ family: AF_BRIDGE, index });
    this.connection.execute({ operation, type, body, attributes: [bridgeVlanSpec(vlans)] });
  }

  /** `upFlag` set: change IFF_UP to that value; undefined: leave the flags alone. */
  private setLink(operation: string, index: number, attributes: Attribute[], upFlag?: number): void {
    const flags = upFlag === undefined ? {} : { flags: upFlag, change: IFF_UP };
    this.connection.execute({
      operation,
      type: RTM_NEWLINK,
      body: encodeIfInfo({ family: AF_UNSPEC, index, ...flags }),
      attributes,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Addresses

  addrList(filter: AddressFilter = {}): Address[] {
    const family = filter.family === undefined ? AF_UNSPEC : familyNumber(filter.family);
    // The kernel filters by link when it checks requests strictly (4.20+); older ones send all.
    const body = encodeIfAddr(family, 0, 0, 0, filter.linkIndex ?? 0);
    return this.connection
      .dump({ operation: "addrList", type: RTM_GETADDR, body })
      .filter((m) => m.type === RTM_NEWADDR && ipFamilyOf(m.payload[0] ?? 0) !== undefined)
      .map((m) => decodeAddress(m.payload))
      .filter((a) => filter.linkIndex === undefined || a.linkIndex === filter.linkIndex)
      .filter((a) => filter.family === undefined || a.family === filter.family);
  }

  /** Adds an address; fails with EEXIST when the link already has it. */
  addrAdd(linkIndex: number, spec: AddressSpec): void {
    this.changeAddress(`addrAdd #${linkIndex} ${spec.cidr}`, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, linkIndex, spec);
  }

  /** Adds the address or updates it in place. */
  addrReplace(linkIndex: number, spec: AddressSpec): void {
    this.changeAddress(
      `addrReplace #${linkIndex} ${spec.cidr}`,
      RTM_NEWADDR,
      NLM_F_CREATE | NLM_F_REPLACE,
      linkIndex,
      spec,
    );
  }

  addrDel(linkIndex: number, spec: AddressSpec): void {
    this.changeAddress(`addrDel #${linkIndex} ${spec.cidr}`, RTM_DELADDR, 0, linkIndex, spec);
  }

  private changeAddress(operation: string, type: number, flags: number, linkIndex: number, spec: AddressSpec): void {
    this.connection.execute({ operation, type, flags, ...addressRequest(linkIndex, spec) });
  }

  // -------------------------------------------------------------------------------------------
  // Routes, neighbours and forwarding databases (implemented in forwarding.ts)

  /** Routes of the main table unless the filter names another (RT_TABLE_UNSPEC: every table). */
  routeList(filter: RouteFilter = {}): Route[] {
    return listRoutes(this.connection, filter);
  }

  /** Adds a route; fails with EEXIST when the table has one to the same destination and metric. */
  routeAdd(spec: RouteSpec): void {
    changeRoute(this.connection, "routeAdd", spec);
  }

  /**
   * Adds a route without NLM_F_EXCL, as `ip route append` without the append: an IPv6 route to a
   * destination that has one with the same metric becomes a multipath next hop (ECMP), an IPv4 one
   * another candidate; only an identical route fails with EEXIST.
   */
  routeAddEcmp(spec: RouteSpec): void {
    changeRoute(this.connection, "routeAddEcmp", spec);
  }

  /** Adds the route, or replaces the one to the same destination and metric. */
  routeReplace(spec: RouteSpec): void {
    changeRoute(this.connection, "routeReplace", spec);
  }

  /** Deletes the route the spec matches (fields left out match any value); ESRCH when none does. */
  routeDel(spec: RouteSpec): void {
    changeRoute(this.connection, "routeDel", spec);
  }

  /** IP neighbours (ARP and NDP entries). */
  neighList(filter: NeighbourFilter = {}): Neighbour[] {
    return listNeighbours(this.connection, filter);
  }

  /** Sets the link's entry for `spec.ip`, creating it or overwriting what is there. */
  neighReplace(linkIndex: number, spec: NeighbourSpec): void {
    replaceNeighbour(this.connection, linkIndex, spec);
  }

  /** Fails with ENOENT when the link has no entry for `ip`. */
  neighDel(linkIndex: number, ip: string): void {
    deleteNeighbour(this.connection, linkIndex, ip);
  }

  /** Entries of every bridge's and VXLAN device's forwarding database. */
  fdbList(filter: FdbFilter = {}): FdbEntry[] {
    return listFdb(this.connection, filter);
  }

  /**
   * Adds an entry. On a VXLAN device, the all-zeros and multicast MACs collect one remote per
   * call (a flood list); a unicast MAC keeps the remote it has (fdbReplace moves it).
   */
  fdbAppend(linkIndex: number, spec: FdbSpec): void {
    changeFdb(this.connection, "fdbAppend", linkIndex, spec);
  }

  /** Sets the entry for the MAC; on a VXLAN device this replaces its remote. */
  fdbReplace(linkIndex: number, spec: FdbSpec): void {
    changeFdb(this.connection, "fdbReplace", linkIndex, spec);
  }

  /** Deletes the entry; with `dst` on a VXLAN device, only that remote of the MAC. */
  fdbDel(linkIndex: number, spec: FdbSpec): void {
    changeFdb(this.connection, "fdbDel", linkIndex, spec);
  }

  // -------------------------------------------------------------------------------------------
  // Sysctls of this handle's namespace (keys relative to /proc/sys, under net/)

  sysctlRead(key: string): string {
    checkSysctlKey(key);
    return this.native.sysctlRead(this.netnsPath ?? null, key).trimEnd();
  }

  sysctlWrite(key: string, value: string): void {
    checkSysctlKey(key);
    this.native.sysctlWrite(this.netnsPath ?? null, key, value);
  }
}

function skipStats(): Attribute {
  return attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

// The VXLAN device of one family (`flannel.<VNI>`, `flannel-v6.<VNI>`): what it must look like,
// derived purely from the network config and the underlay, and the kernel work that makes it so.

import { createHash } from "node:crypto";

import { hasErrorCode } from "../../native/binding";
import { IFA_F_NODAD } from "../../native/netlink/constants";
import type { Handle } from "../../native/netlink/handle";
import type { IpFamily } from "../../native/netlink/ip";
import type { Link, VxlanLink } from "../../native/netlink/link";
import type { NetworkConfig } from "../network-config";
import { hostPrefixLength, isInside, networkAddress } from "./addressing";

/** Bytes VXLAN adds to a frame: outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const ENCAPSULATION_OVERHEAD: Readonly<Record<IpFamily, number>> = { 4: 50, 6: 70 };

/** IFNAMSIZ - 1. */
const MAX_LINK_NAME = 15;

export interface UnderlayEndpoint {
  readonly index: number;
  readonly mtu: number;
  /** The underlay interface's own address of this family: the VXLAN `local`. */
  readonly localAddress: string;
  /** The address peers send to (differs from `localAddress` behind NAT); seeds the VTEP MAC. */
  readonly publicIp: string;
}

export interface VxlanDeviceSpec {
  readonly family: IpFamily;
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly learning: boolean;
  readonly gbp: boolean;
  readonly mtu: number;
  readonly mac: string;
  readonly local: string;
  readonly underlayIndex: number;
}

export class VtepMacChangedError extends Error {
  constructor(device: string, expected: string, actual: string | undefined) {
    super(
      `the MAC of ${device} changed from ${expected} to ${actual ?? "none"} after it came up: something on this ` +
        `host rewrites it (systemd-networkd's MACAddressPolicy, udev); exclude flannel* devices from it ` +
        `(a .link file with MACAddressPolicy=none), or peers would send to a MAC this node no longer has`,
    );
    this.name = "VtepMacChangedError";
  }
}

export function deviceName(family: IpFamily, vni: number): string {
  const name = family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`;
  if (name.length > MAX_LINK_NAME) {
    throw new RangeError(`VNI ${vni} makes the device name ${name} longer than ${MAX_LINK_NAME} characters`);
  }
  return name;
}

/**
 * The VTEP MAC, derived from the VNI and the node's public address: the same across restarts and
 * reboots without any state on disk, distinct between nodes (their public addresses are), and a
 * locally administered unicast address.
 */
export function vtepMac(family: IpFamily, vni: number, publicIp: string): string {
  const digest = createHash("sha256").update(`tscni-vtep\0${family}\0${vni}\0${publicIp}`).digest();
  const bytes = Array.from(digest.subarray(0, 6));
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export function vxlanDeviceSpec(config: NetworkConfig, family: IpFamily, underlay: UnderlayEndpoint): VxlanDeviceSpec {
  const { backend } = config;
  // As flannel, Backend.MTU stands for the underlay's MTU; unlike flannel (#1781), IPv6 subtracts
  // its own larger overhead.
  const mtu = (backend.mtu ?? underlay.mtu) - ENCAPSULATION_OVERHEAD[family];
  if (mtu < (family === 4 ? 68 : 1280)) {
    throw new RangeError(
      `the VXLAN device MTU would be ${mtu}, below the IPv${family} minimum: check the underlay MTU`,
    );
  }
  return {
    family,
    name: deviceName(family, backend.vni),
    vni: backend.vni,
    port: backend.port,
    learning: backend.learning,
    gbp: backend.gbp,
    mtu,
    mac: vtepMac(family, backend.vni, underlay.publicIp),
    local: underlay.localAddress,
    underlayIndex: underlay.index,
  };
}

/** The attributes that a running device cannot change: a mismatch means delete and recreate. */
function mismatch(link: Link, spec: VxlanDeviceSpec): string | undefined {
  if (link.kind !== "vxlan") return `it is a ${link.kind === "other" ? link.infoKind : link.kind} device`;
  const checks: [string, unknown, unknown][] = [
    ["VNI", link.vni, spec.vni],
    ["local", link.local, spec.local],
    ["dev", link.underlayIndex, spec.underlayIndex],
    ["port", link.port, spec.port],
    ["learning", link.learning, spec.learning],
    ["GBP", link.gbp, spec.gbp],
    ["MAC", link.mac, spec.mac],
  ];
  const differing = checks.filter(([, actual, wanted]) => actual !== wanted);
  return differing.length === 0
    ? undefined
    : differing.map(([name, actual, wanted]) => `${name} ${String(actual)} instead of ${String(wanted)}`).join(", ");
}

export interface EnsuredDevice {
  readonly link: VxlanLink;
  /** The device was (re)created: the kernel dropped every entry it had. */
  readonly created: boolean;
  /** Why an existing device was replaced. */
  readonly replaced: string | undefined;
}

/** Creates the device, or keeps the existing one when it matches (its MTU is corrected in place). */
export function ensureVxlanDevice(handle: Handle, spec: VxlanDeviceSpec): EnsuredDevice {
  const existing = handle.findLink(spec.name);
  const replaced = existing === undefined ? undefined : mismatch(existing, spec);
  if (existing !== undefined && replaced !== undefined) handle.linkDel(existing.index);
  const created = existing === undefined || replaced !== undefined;
  if (created) {
    handle.linkAdd({
      kind: "vxlan",
      name: spec.name,
      vni: spec.vni,
      local: spec.local,
      underlayIndex: spec.underlayIndex,
      port: spec.port,
      learning: spec.learning,
      gbp: spec.gbp,
      // Inherit the inner packet's TTL, as flannel does.
      ttl: 0,
      mtu: spec.mtu,
      mac: spec.mac,
    });
  }
  let link = handle.linkByName(spec.name);
  if (link.mtu !== spec.mtu) {
    handle.linkSetMtu(link.index, spec.mtu);
    link = handle.linkByName(spec.name);
  }
  disableRouterAdvertisements(handle, spec.name);
  return { link: link as VxlanLink, created, replaced };
}

/** Routes from router advertisements have no business on an overlay device. */
function disableRouterAdvertisements(handle: Handle, name: string): void {
  try {
    handle.sysctlWrite(`net/ipv6/conf/${name}/accept_ra`, "0");
  } catch (error: unknown) {
    // No IPv6 in this kernel or namespace: there is nothing to disable.
    if (!hasErrorCode(error, "ENOENT")) throw error;
  }
}

/**
 * Gives the device `<subnet network>/32` (or /128), removes other addresses of the cluster network
 * from it (a previous lease's), brings it up and checks that its MAC is still the VTEP MAC.
 */
export function configureDeviceAddress(handle: Handle, spec: VxlanDeviceSpec, subnet: string, network: string): void {
  const link = handle.linkByName(spec.name);
  const address = networkAddress(subnet);
  for (const stale of handle.addrList({ linkIndex: link.index, family: spec.family })) {
    if (stale.address !== address && isInside(stale.address, network)) {
      handle.addrDel(link.index, { cidr: `${stale.address}/${stale.prefixLength}` });
    }
  }
  // No duplicate address detection: the lease makes the address unique, and DAD would leave it
  // tentative (unusable as a source) for a second after every start.
  const flags = spec.family === 6 ? IFA_F_NODAD : 0;
  handle.addrReplace(link.index, { cidr: `${address}/${hostPrefixLength(spec.family)}`, flags });
  handle.linkSetUp(link.index);
  const mac = handle.linkByIndex(link.index).mac;
  if (mac !== spec.mac) throw new VtepMacChangedError(spec.name, spec.mac, mac);
}

// The address arithmetic of the overlay's subnet plan (alignment, containment, overlap, walking the
// subnets between SubnetMin and SubnetMax), done with ip-address: an address is the library's
// integer, and only offsets by a subnet's size are computed here.
//
// Not ip-cidr: it default-imports ip-address, which yields undefined when the module is loaded
// through a CommonJS require hook (mocha with tsx), and its address checks then fail silently.

import { Address4, Address6 } from "ip-address";

export type IpFamily = 4 | 6;

/** A CIDR block held by its network address: host bits are always zero. */
export interface IpNet {
  readonly family: IpFamily;
  /** The network address in canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  readonly prefixLength: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/**
 * The family of a single address (no prefix, no zone), or undefined when it is not one. IPv4 must
 * be plain dotted decimal: Go's ParseIP refuses leading zeros ("010.0.0.1"), and so do we.
 */
export function addressFamily(text: string): IpFamily | undefined {
  if (text.includes("/") || text.includes("%")) return undefined;
  if (Address4.isValid(text)) return new Address4(text).correctForm() === text ? 4 : undefined;
  if (Address6.isValid(text) && !text.includes(".")) return 6;
  return undefined;
}

function parse(text: string): Address4 | Address6 {
  return text.includes(":") ? new Address6(text) : new Address4(text);
}

function toBigInt(text: string): bigint {
  return parse(text).bigInt();
}

function fromBigInt(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

function blockSize(family: IpFamily, prefixLength: number): bigint {
  return 1n << BigInt(BITS[family] - prefixLength);
}

/** Canonical text of an address (e.g. "fd00:0:0::1" → "fd00::1"); undefined when invalid. */
export function canonicalAddress(text: string): string | undefined {
  const family = addressFamily(text);
  return family === undefined ? undefined : fromBigInt(family, toBigInt(text));
}

/**
 * Parses "address/prefix" and masks the host bits, as Go's net.ParseCIDR does for flannel's
 * Network ("10.244.1.7/16" is 10.244.0.0/16). Undefined when the text is not a CIDR.
 */
export function parseIpNet(text: string): IpNet | undefined {
  const slash = text.indexOf("/");
  if (slash === -1) return undefined;
  const family = addressFamily(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (family === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > BITS[family]) return undefined;
  return ipNet(text.slice(0, slash), prefixLength);
}

/** The block of `prefixLength` holding `address` (an address of a known-valid family). */
export function ipNet(address: string, prefixLength: number): IpNet {
  const family: IpFamily = address.includes(":") ? 6 : 4;
  const start = parse(`${address}/${prefixLength}`).startAddress().correctForm();
  return { family, address: start, prefixLength };
}

export function formatIpNet(net: IpNet): string {
  return `${net.address}/${net.prefixLength}`;
}

/** True when `address` is the first address of its block of `prefixLength` (SubnetMin alignment). */
export function isAligned(address: string, prefixLength: number): boolean {
  return ipNet(address, prefixLength).address === canonicalAddress(address);
}

export function netContains(net: IpNet, address: string): boolean {
  return addressFamily(address) === net.family && parse(address).isInSubnet(parse(formatIpNet(net)));
}

/** Orders two addresses of one family. */
export function compareAddresses(a: string, b: string): number {
  const difference = toBigInt(a) - toBigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

function bounds(net: IpNet): readonly [bigint, bigint] {
  const start = toBigInt(net.address);
  return [start, start + blockSize(net.family, net.prefixLength) - 1n];
}

export function netsOverlap(a: IpNet, b: IpNet): boolean {
  if (a.family !== b.family) return false;
  const [aStart, aEnd] = bounds(a);
  const [bStart, bEnd] = bounds(b);
  return aStart <= bEnd && bStart <= aEnd;
}

/** The address `count` blocks of `prefixLength` after `address` (negative: before). */
export function offsetAddress(address: string, prefixLength: number, count: number): string {
  const family: IpFamily = address.includes(":") ? 6 : 4;
  return fromBigInt(family, toBigInt(address) + BigInt(count) * blockSize(family, prefixLength));
}

/** The last block of `prefixLength` inside `net` (flannel's default SubnetMax). */
export function lastSubnetAddress(net: IpNet, prefixLength: number): string {
  return offsetAddress(offsetAddress(net.address, net.prefixLength, 1), prefixLength, -1);
}

/** Every block of `prefixLength` from `first` to `last` (both aligned), in order. */
export function* subnetsBetween(first: string, last: string, prefixLength: number): Generator<IpNet> {
  const family: IpFamily = first.includes(":") ? 6 : 4;
  const step = blockSize(family, prefixLength);
  const end = toBigInt(last);
  for (let value = toBigInt(first); value <= end; value += step) {
    yield { family, address: fromBigInt(family, value), prefixLength };
  }
}

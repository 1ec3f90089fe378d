// The address arithmetic of the overlay's subnet plan (alignment, containment, overlap, walking the
// subnets between SubnetMin and SubnetMax), done with ip-cidr and ip-address: an address is the
// library's big integer, and only offsets by a subnet's size are computed here.

import { Address4, Address6 } from "ip-address";
import IPCIDR from "ip-cidr";

export type IpFamily = 4 | 6;

/** A CIDR block held by its network address: host bits are always zero. */
export interface IpNet {
  readonly family: IpFamily;
  /** The network address in canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  readonly prefixLength: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** The family of a single address (no prefix), or undefined when it is not an address. */
export function addressFamily(text: string): IpFamily | undefined {
  if (text.includes("/") || !IPCIDR.isValidAddress(text)) return undefined;
  return text.includes(":") ? 6 : 4;
}

function toBigInt(text: string): bigint {
  return IPCIDR.formatIP<bigint>(IPCIDR.createAddress(text), { type: "bigInteger" });
}

function fromBigInt(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInteger(value).correctForm() : Address6.fromBigInteger(value).correctForm();
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
  const start = new IPCIDR(`${address}/${prefixLength}`).start<bigint>({ type: "bigInteger" });
  const family: IpFamily = address.includes(":") ? 6 : 4;
  return { family, address: fromBigInt(family, start), prefixLength };
}

export function formatIpNet(net: IpNet): string {
  return `${net.address}/${net.prefixLength}`;
}

/** True when `address` is the first address of its block of `prefixLength` (SubnetMin alignment). */
export function isAligned(address: string, prefixLength: number): boolean {
  return ipNet(address, prefixLength).address === canonicalAddress(address);
}

export function netContains(net: IpNet, address: string): boolean {
  return addressFamily(address) === net.family && new IPCIDR(formatIpNet(net)).contains(address);
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

// Addresses as the allocator sees them: a family and an integer, so ranges compare and step with
// plain bigint operations. Parsing, formatting and subnet bounds go through the ip-address library;
// text is always canonical (dotted quad, RFC 5952), which is also how the reference names its files.
//
// Each text is parsed once, with the library's cheaper calls: it is slow before the JIT warms up,
// and a plugin process never gets that far.

import { Address4, Address6 } from "ip-address";

import type { IpFamily } from "../../native/netlink/ip";

export interface Address {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Subnet {
  readonly family: IpFamily;
  readonly prefixLength: number;
  /** The address as written, host bits included. */
  readonly address: Address;
  /** The network address. */
  readonly first: Address;
  /** The last address (the IPv4 broadcast). */
  readonly last: Address;
}

/** Parses one address (no prefix); undefined when `text` is not one. IPv4-mapped IPv6 is IPv4, as in Go. */
export function parseAddress(text: string): Address | undefined {
  if (text.includes("/")) return undefined;
  const parsed = construct(text);
  return parsed === undefined ? undefined : toAddress(parsed);
}

/** Parses "address/prefix"; undefined when it is not a CIDR. */
export function parseSubnet(text: string): Subnet | undefined {
  const slash = text.indexOf("/");
  if (slash === -1 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
  const parsed = construct(text);
  if (parsed === undefined || (parsed instanceof Address6 && parsed.is4())) return undefined;
  const family = parsed instanceof Address4 ? 4 : 6;
  return {
    family,
    prefixLength: parsed.subnetMask,
    address: toAddress(parsed),
    first: toAddress(parsed.startAddress()),
    last: toAddress(parsed.endAddress()),
  };
}

export function formatAddress(address: Address): string {
  return address.family === 4
    ? Address4.fromBigInt(address.value).correctForm()
    : Address6.fromBigInt(address.value).correctForm();
}

export const sameAddress = (a: Address, b: Address): boolean => a.family === b.family && a.value === b.value;

/** The library's object, or undefined. IPv4 with leading zeros ("010.0.0.1") is refused, as Go does. */
function construct(text: string): Address4 | Address6 | undefined {
  if (text.includes("%")) return undefined;
  try {
    if (text.includes(":")) return new Address6(text);
    const v4 = new Address4(text);
    const slash = text.indexOf("/");
    return v4.correctForm() === (slash === -1 ? text : text.slice(0, slash)) ? v4 : undefined;
  } catch {
    return undefined;
  }
}

function toAddress(parsed: Address4 | Address6): Address {
  if (parsed instanceof Address6 && parsed.is4()) return toAddress(parsed.to4());
  return { family: parsed instanceof Address4 ? 4 : 6, value: parsed.bigInt() };
}

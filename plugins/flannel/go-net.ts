// Addresses and CIDRs as Go's net package parses and prints them (net.ParseIP, net.ParseCIDR,
// IPNet.String), which is how the upstream plugin reads subnet.env and the routes it is given.
// Beyond what ip-address accepts, Go refuses IPv4 octets with leading zeros and IPv6 zones, and
// reads a prefix length with leading zeros ("/024").

import { Address4, Address6 } from "ip-address";

import { canonicalIp, type Cidr, formatCidr, parseCidr } from "../../native/netlink/ip";

/** net.ParseIP; throws RangeError for anything Go would refuse. */
export function parseGoIp(text: string): string {
  refuseWhatGoRefuses(text);
  return canonicalIp(text);
}

/** net.ParseCIDR, keeping the host bits ("10.1.17.1/24" stays so). */
export function parseGoCidr(text: string): Cidr {
  refuseWhatGoRefuses(text.slice(0, text.indexOf("/")));
  return parseCidr(text);
}

/** The network of a CIDR, as Go prints net.ParseCIDR's second result ("10.1.17.0/24"). */
export function networkOf(cidr: Cidr): string {
  const text = formatCidr(cidr);
  const start = cidr.family === 4 ? new Address4(text).startAddress() : new Address6(text).startAddress();
  return `${start.correctForm()}/${cidr.prefixLength}`;
}

function refuseWhatGoRefuses(address: string): void {
  const dottedQuad = address.slice(address.lastIndexOf(":") + 1);
  if (address.includes("%") || (dottedQuad.includes(".") && /(^|\.)0\d/.test(dottedQuad))) {
    throw new RangeError(`invalid IP address ${JSON.stringify(address)}`);
  }
}

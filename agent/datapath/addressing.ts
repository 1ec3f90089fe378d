// The address arithmetic of the overlay (through ip-address): a node's subnet is routed via its
// network address (the peer's VXLAN device holds it as a /32 or /128), and the bridge gateway that
// subnet.env advertises is the address after it.

import { Address4, Address6 } from "ip-address";

import { type IpFamily, parseCidr } from "../../native/netlink/ip";

function parse(cidrOrAddress: string): Address4 | Address6 {
  return cidrOrAddress.includes(":") ? new Address6(cidrOrAddress) : new Address4(cidrOrAddress);
}

/** "10.244.1.0/24" -> "10.244.1.0". */
export function networkAddress(cidr: string): string {
  return parse(cidr).startAddress().correctForm();
}

/** "fd00:10:244:1:0::/64" -> "fd00:10:244:1::/64": the network in the kernel's canonical form. */
export function canonicalSubnet(cidr: string): string {
  parseCidr(cidr); // A prefix length is required (ip-address would read a bare address as a /32).
  const subnet = parse(cidr);
  return `${subnet.startAddress().correctForm()}/${subnet.subnetMask}`;
}

/** "10.244.1.0/24" -> "10.244.1.1/24": the first host address with the subnet's prefix length. */
export function gatewayCidr(cidr: string): string {
  const subnet = parse(cidr);
  return `${subnet.startAddressExclusive().correctForm()}/${subnet.subnetMask}`;
}

/** The address (or every address of the CIDR) lies inside `network`; false across families. */
export function isInside(addressOrCidr: string, network: string): boolean {
  const inner = parse(addressOrCidr);
  const outer = parse(network);
  return inner.v4 === outer.v4 && inner.isInSubnet(outer);
}

/** The host prefix length of a family: 32 or 128. */
export function hostPrefixLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

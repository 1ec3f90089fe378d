// Address forms the firewall rules use: a container address, its host route form (/32, /128) and
// its subnet, in the canonical text the tools print back (iptables-save, nft -j).

// ip-address directly rather than ip-cidr: ip-cidr 4.0.2 default-imports ip-address, a CommonJS
// module flagged __esModule, which loaders with CommonJS interop (tsx under mocha) resolve to
// undefined.
import { Address4, Address6 } from "ip-address";

import { canonicalIp, formatCidr, type IpFamily, parseCidr } from "../native/netlink/ip";

export interface InterfaceAddress {
  readonly family: IpFamily;
  /** The address alone, e.g. "10.22.0.5" or "fd00::5". */
  readonly ip: string;
  /** The address as a host prefix, e.g. "10.22.0.5/32", as iptables-save prints a source. */
  readonly host: string;
  /** The network the address is on, e.g. "10.22.0.0/24". */
  readonly subnet: string;
}

/** Parses "10.22.0.5/24"; throws RangeError for anything else. */
export function parseInterfaceAddress(text: string): InterfaceAddress {
  const cidr = parseCidr(text);
  return {
    family: cidr.family,
    ip: cidr.address,
    host: formatCidr({ address: cidr.address, prefixLength: cidr.family === 4 ? 32 : 128 }),
    subnet: networkOf(text),
  };
}

/** The network of a CIDR in canonical form: "10.22.0.5/24" -> "10.22.0.0/24". */
export function networkOf(text: string): string {
  const cidr = parseCidr(text);
  const canonical = formatCidr(cidr);
  const address = cidr.family === 4 ? new Address4(canonical) : new Address6(canonical);
  const start = address.startAddress().correctForm();
  return formatCidr({ address: canonicalIp(start), prefixLength: cidr.prefixLength });
}

/** Whether network `inner` lies entirely inside network `outer`. */
export function isWithin(inner: string, outer: string): boolean {
  const [a, b] = [formatCidr(parseCidr(inner)), formatCidr(parseCidr(outer))];
  if (a.includes(":") !== b.includes(":")) return false;
  return a.includes(":") ? new Address6(a).isInSubnet(new Address6(b)) : new Address4(a).isInSubnet(new Address4(b));
}

/** A CIDR or bare address (a host prefix) in canonical form, for comparing with tool output. */
export function canonicalCidr(text: string): string {
  if (text.includes("/")) return formatCidr(parseCidr(text));
  const address = canonicalIp(text);
  return formatCidr({ address, prefixLength: address.includes(":") ? 128 : 32 });
}

export const MULTICAST: Readonly<Record<IpFamily, string>> = { 4: "224.0.0.0/4", 6: "ff00::/8" };

export function groupByFamily<T extends { readonly family: IpFamily }>(items: readonly T[]): Map<IpFamily, T[]> {
  const groups = new Map<IpFamily, T[]>();
  for (const item of items) groups.set(item.family, [...(groups.get(item.family) ?? []), item]);
  return groups;
}

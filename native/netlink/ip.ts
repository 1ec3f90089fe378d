// IP addresses as the rest of the suite sees them (canonical strings) and as netlink carries them
// (4 or 16 raw bytes). Parsing and formatting go through the ip-address library.

import { Address4, Address6 } from "ip-address";

import { AF_INET, AF_INET6 } from "./constants";

export type IpFamily = 4 | 6;

/** The AF_* number netlink uses for a family. */
export const familyNumber = (family: IpFamily): number => (family === 4 ? AF_INET : AF_INET6);

/** The family of an AF_* number, or undefined for the non-IP ones dumps may also carry. */
export function ipFamilyOf(afFamily: number): IpFamily | undefined {
  if (afFamily === AF_INET) return 4;
  if (afFamily === AF_INET6) return 6;
  return undefined;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The address as written, in canonical form (host bits kept: "10.1.2.3/24" keeps .3). */
  readonly address: string;
  readonly prefixLength: number;
}

/**
 * The family of one address, or undefined when `address` is not one. As Go's net.ParseIP, a zone
 * ("fe80::1%eth0") or an IPv4 octet with a leading zero ("010.0.0.1", octal to some parsers) is
 * not an address; the library alone accepts both.
 */
export function ipFamily(address: string): IpFamily | undefined {
  if (address.includes("/") || address.includes("%")) return undefined;
  if (Address4.isValid(address)) return new Address4(address).correctForm() === address ? 4 : undefined;
  if (Address6.isValid(address)) return 6;
  return undefined;
}

/** Canonical text of a single address (RFC 5952 for IPv6); throws RangeError when invalid. */
export function canonicalIp(address: string): string {
  return bytesToIp(ipToBytes(address));
}

export function ipToBytes(address: string): Uint8Array {
  switch (ipFamily(address)) {
    case 4:
      return new Uint8Array(new Address4(address).toArray());
    case 6: {
      // toUnsignedByteArray() is a big integer's minimal encoding ("::1" gives one byte): left-pad.
      const minimal = new Address6(address).toUnsignedByteArray();
      const bytes = new Uint8Array(16);
      bytes.set(minimal, 16 - minimal.length);
      return bytes;
    }
    default:
      throw new RangeError(`invalid IP address ${JSON.stringify(address)}`);
  }
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length === 16) return Address6.fromByteArray([...bytes]).correctForm();
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/** Parses "address/prefix"; the prefix is required and must fit the family. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const prefixText = slash === -1 ? "" : text.slice(slash + 1);
  const family = ipFamily(text.slice(0, slash));
  const prefixLength = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (family === undefined || !(prefixLength <= (family === 4 ? 32 : 128))) {
    throw new RangeError(`invalid CIDR ${JSON.stringify(text)}`);
  }
  return { family, address: canonicalIp(text.slice(0, slash)), prefixLength };
}

export function formatCidr(cidr: Pick<Cidr, "address" | "prefixLength">): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}

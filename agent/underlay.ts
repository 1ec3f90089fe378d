// The underlay: the interface VXLAN packets leave by, its addresses and the addresses this node
// advertises. Chosen as flanneld does: `--iface` (names or addresses, first match wins),
// `--iface-regex` (against names and addresses), the interface holding `--public-ip`, or the
// interface of the default route.

import { IFF_LOOPBACK, RT_SCOPE_UNIVERSE } from "../native/netlink/constants";
import type { Handle } from "../native/netlink/handle";
import { canonicalIp, type IpFamily, ipFamily } from "../native/netlink/ip";
import type { Link } from "../native/netlink/link";
import { canonicalSubnet } from "./datapath/addressing";

export interface UnderlayAddress {
  /** The interface's own address: the VXLAN device's `local`. */
  readonly localAddress: string;
  /** What peers send to (`--public-ip`, e.g. a NAT's address), else the local address. */
  readonly publicIp: string;
}

export interface Underlay {
  readonly index: number;
  readonly name: string;
  readonly mtu: number;
  readonly ipv4: UnderlayAddress | undefined;
  readonly ipv6: UnderlayAddress | undefined;
  /** The on-link prefixes of the interface per family ("192.168.1.0/24"): DirectRouting's L2 segment. */
  readonly prefixes: Readonly<Record<IpFamily, readonly string[]>>;
  /** How it was chosen, for the log. */
  readonly reason: string;
}

export interface UnderlayOptions {
  readonly ifaces: readonly string[];
  readonly ifaceRegexes: readonly string[];
  readonly publicIp: string | undefined;
  readonly publicIpv6: string | undefined;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

export class UnderlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnderlayError";
  }
}

interface Candidate {
  readonly link: Link;
  /** The address that matched `--iface`/`--iface-regex`, if an address did. */
  readonly matchedAddress: string | undefined;
  readonly reason: string;
}

export function selectUnderlay(handle: Handle, options: UnderlayOptions): Underlay {
  const candidate = chooseInterface(handle, options);
  const { link } = candidate;
  const addresses = handle
    .addrList({ linkIndex: link.index })
    .filter((a) => a.scope === RT_SCOPE_UNIVERSE)
    .map((a) => ({ ...a, address: canonicalIp(a.address) }));
  const endpoint = (family: IpFamily, publicIp: string | undefined): UnderlayAddress | undefined => {
    const own = addresses.filter((a) => a.family === family).map((a) => a.address);
    const matched = candidate.matchedAddress;
    const local = matched !== undefined && ipFamily(matched) === family ? matched : own[0];
    if (local === undefined) return undefined;
    return { localAddress: local, publicIp: publicIp !== undefined ? canonicalIp(publicIp) : local };
  };
  const underlay: Underlay = {
    index: link.index,
    name: link.name,
    mtu: link.mtu,
    ipv4: options.ipv4 ? endpoint(4, options.publicIp) : undefined,
    ipv6: options.ipv6 ? endpoint(6, options.publicIpv6) : undefined,
    prefixes: {
      4: addresses.filter((a) => a.family === 4).map((a) => canonicalSubnet(`${a.address}/${a.prefixLength}`)),
      6: addresses.filter((a) => a.family === 6).map((a) => canonicalSubnet(`${a.address}/${a.prefixLength}`)),
    },
    reason: candidate.reason,
  };
  for (const [family, enabled, found] of [
    [4, options.ipv4, underlay.ipv4],
    [6, options.ipv6, underlay.ipv6],
  ] as const) {
    if (enabled && found === undefined) {
      throw new UnderlayError(`the underlay interface ${link.name} has no global IPv${family} address`);
    }
  }
  return underlay;
}

function chooseInterface(handle: Handle, options: UnderlayOptions): Candidate {
  const links = handle.linkList().filter((l) => (l.flags & IFF_LOOPBACK) === 0);
  const addressesOf = (link: Link): string[] =>
    handle
      .addrList({ linkIndex: link.index })
      .filter((a) => a.scope === RT_SCOPE_UNIVERSE)
      .map((a) => canonicalIp(a.address));

  if (options.ifaces.length > 0) {
    for (const iface of options.ifaces) {
      if (ipFamily(iface) !== undefined) {
        const address = canonicalIp(iface);
        const link = links.find((l) => addressesOf(l).includes(address));
        if (link !== undefined) return { link, matchedAddress: address, reason: `--iface ${iface}` };
      } else {
        const link = links.find((l) => l.name === iface);
        if (link !== undefined) return { link, matchedAddress: undefined, reason: `--iface ${iface}` };
      }
    }
    throw new UnderlayError(`no interface matches --iface ${options.ifaces.join(", ")}`);
  }

  if (options.ifaceRegexes.length > 0) {
    for (const source of options.ifaceRegexes) {
      const pattern = compile(source);
      // Addresses first, then names, as flanneld matches.
      for (const link of links) {
        const address = addressesOf(link).find((a) => pattern.test(a));
        if (address !== undefined) return { link, matchedAddress: address, reason: `--iface-regex ${source}` };
      }
      const link = links.find((l) => pattern.test(l.name));
      if (link !== undefined) return { link, matchedAddress: undefined, reason: `--iface-regex ${source}` };
    }
    throw new UnderlayError(`no interface matches --iface-regex ${options.ifaceRegexes.join(", ")}`);
  }

  for (const publicIp of [options.publicIp, options.publicIpv6]) {
    if (publicIp === undefined) continue;
    const address = canonicalIp(publicIp);
    const link = links.find((l) => addressesOf(l).includes(address));
    if (link !== undefined) return { link, matchedAddress: address, reason: `it holds the public IP ${address}` };
  }

  const family: IpFamily = options.ipv4 ? 4 : 6;
  const defaults = handle
    .routeList({ family })
    .filter((r) => r.dst === (family === 4 ? "0.0.0.0/0" : "::/0") && r.linkIndex !== undefined)
    .sort((a, b) => a.priority - b.priority);
  const link = links.find((l) => l.index === defaults[0]?.linkIndex);
  if (link === undefined) {
    throw new UnderlayError(`no IPv${family} default route to take the underlay interface from: pass --iface`);
  }
  return { link, matchedAddress: undefined, reason: "default route" };
}

function compile(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error: unknown) {
    throw new UnderlayError(`--iface-regex ${JSON.stringify(source)} is not a regular expression: ${String(error)}`);
  }
}

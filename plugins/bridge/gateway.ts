// The gateway side of an L3 network: the gateway each IP gets, the default routes isDefaultGateway
// adds, the gateway addresses on the bridge (or on the VLAN gateway interface), and forwarding.

import { Address4, Address6 } from "ip-address";

import { CniError, ErrorCode } from "../../cni/errors";
import type { IpConfig, Result, Route } from "../../cni/result";
import { IFA_F_NODAD } from "../../native/netlink/constants";
import { isNetlinkError } from "../../native/netlink/errors";
import type { Handle } from "../../native/netlink/handle";
import { type IpFamily, parseCidr } from "../../native/netlink/ip";
import type { BridgeConfig } from "./config";
import { failure } from "./errors";

/** Every IP of the result belongs to the container interface, the third of the result's interfaces. */
export const CONTAINER_INTERFACE_INDEX = 2;

export interface GatewayPlan {
  readonly ips: readonly IpConfig[];
  readonly routes: readonly Route[];
  /** "gateway/prefix" addresses to put on the bridge, by family (isGateway only). */
  readonly gateways: ReadonlyMap<IpFamily, readonly string[]>;
}

const DEFAULT_DESTINATION: Readonly<Record<IpFamily, string>> = { 4: "0.0.0.0/0", 6: "::/0" };

/**
 * As the reference's calcGateways: each IP gets interface 2 and, with isGateway, the subnet's first
 * address as gateway when IPAM gave none; isDefaultGateway adds a default route per family unless
 * IPAM returned one with a gateway.
 */
export function planGateways(ipam: Result, config: BridgeConfig): GatewayPlan {
  const routes = [...ipam.routes];
  const gateways = new Map<IpFamily, string[]>();
  const defaultRouteFound = new Set<IpFamily>();
  const ips = ipam.ips.map((ip): IpConfig => {
    const cidr = parseCidr(ip.address);
    const gateway = ip.gateway ?? (config.isGateway ? firstHost(ip.address, cidr.family) : undefined);
    if (config.isDefaultGateway && !defaultRouteFound.has(cidr.family)) {
      const destination = DEFAULT_DESTINATION[cidr.family];
      if (!routes.some((r) => r.gw !== undefined && isSameNetwork(r.dst, destination))) {
        routes.push({ dst: destination, ...(gateway !== undefined ? { gw: gateway } : {}) });
      }
      defaultRouteFound.add(cidr.family);
    }
    if (config.isGateway && gateway !== undefined) {
      gateways.set(cidr.family, [...(gateways.get(cidr.family) ?? []), `${gateway}/${cidr.prefixLength}`]);
    }
    return { address: ip.address, ...(gateway !== undefined ? { gateway } : {}), interface: CONTAINER_INTERFACE_INDEX };
  });
  return { ips, routes, gateways };
}

function firstHost(cidr: string, family: IpFamily): string {
  return (family === 4 ? new Address4(cidr) : new Address6(cidr)).startAddressExclusive().correctForm();
}

function isSameNetwork(a: string, b: string): boolean {
  const [pa, pb] = [parseCidr(a), parseCidr(b)];
  return pa.family === pb.family && pa.prefixLength === pb.prefixLength && pa.address === pb.address;
}

/**
 * Puts `cidr` on the link unless it is there. Another IPv4 address, or an overlapping IPv6 one, is a
 * conflict: replaced with forceAddress, the reference's error otherwise. EEXIST means a concurrent
 * ADD of the same network added it first, which is success.
 */
export function ensureGatewayAddress(
  host: Handle,
  link: { index: number; name: string },
  cidr: string,
  force: boolean,
): void {
  const wanted = parseCidr(cidr);
  try {
    for (const existing of host.addrList({ linkIndex: link.index, family: wanted.family })) {
      if (existing.address === wanted.address && existing.prefixLength === wanted.prefixLength) return;
      const existingCidr = `${existing.address}/${existing.prefixLength}`;
      if (wanted.family === 6 && !overlaps(existingCidr, cidr)) continue;
      if (!force) {
        throw new CniError(
          ErrorCode.Internal,
          `${JSON.stringify(link.name)} already has an IP address different from ${cidr}`,
          `it has ${existingCidr}; set forceAddress to replace it`,
        );
      }
      host.addrDel(link.index, { cidr: existingCidr });
    }
    // The gateway answers at once: no duplicate address detection on the bridge's own address.
    host.addrAdd(link.index, { cidr, flags: wanted.family === 6 ? IFA_F_NODAD : 0 });
  } catch (error: unknown) {
    if (isNetlinkError(error, "EEXIST")) return;
    throw failure(`failed to set bridge addr ${cidr} on ${JSON.stringify(link.name)}`, error);
  }
}

function overlaps(a: string, b: string): boolean {
  const [na, nb] = [new Address6(a), new Address6(b)];
  return na.isInSubnet(nb) || nb.isInSubnet(na);
}

const FORWARDING_SYSCTL: Readonly<Record<IpFamily, string>> = {
  4: "net/ipv4/ip_forward",
  6: "net/ipv6/conf/all/forwarding",
};

/** Enables forwarding for the family; written only when off (a write applies to every interface). */
export function enableForwarding(host: Handle, family: IpFamily): void {
  const key = FORWARDING_SYSCTL[family];
  try {
    if (host.sysctlRead(key) !== "1") host.sysctlWrite(key, "1");
  } catch (error: unknown) {
    throw failure("failed to enable forwarding", error);
  }
}

// The pod's side, as the reference's ConfigureIface (after its sysctls): duplicate address detection
// off unless enabled, gratuitous ARP when the link comes up, addresses, the link up, then routes
// (a route without a gateway goes through its family's first IP gateway). Everything here lives on
// the container interface, so deleting the veth undoes all of it.

import { CniError, ErrorCode } from "../../cni/errors";
import { hasErrorCode } from "../../native/binding";
import { IFA_F_DADFAILED, IFA_F_TENTATIVE } from "../../native/netlink/constants";
import { isNetlinkError } from "../../native/netlink/errors";
import type { Handle } from "../../native/netlink/handle";
import { type IpFamily, parseCidr } from "../../native/netlink/ip";
import type { IpConfig, Route } from "../../cni/result";
import { failure } from "./errors";

/** How long addresses may stay tentative when duplicate address detection is on (the reference: 10 s). */
const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 50;

export interface ContainerAddressing {
  readonly ifName: string;
  readonly index: number;
  readonly ips: readonly IpConfig[];
  readonly routes: readonly Route[];
  readonly enableDad: boolean;
}

/** Sysctls of an addressed container interface, set before it comes up (as the reference's ADD). */
export function prepareContainerInterface(pod: Handle, ifName: string, enableDad: boolean): void {
  if (enableDad) {
    optionalSysctl(pod, `net/ipv6/conf/${ifName}/enhanced_dad`, "1");
    optionalSysctl(pod, `net/ipv6/conf/${ifName}/accept_dad`, "1");
  } else {
    // DAD would hold every IPv6 address tentative for a second or more (plugins#680).
    optionalSysctl(pod, `net/ipv6/conf/${ifName}/accept_dad`, "0");
  }
  // Announce the addresses with a gratuitous ARP as the link comes up.
  optionalSysctl(pod, `net/ipv4/conf/${ifName}/arp_notify`, "1");
}

export async function configureContainerInterface(pod: Handle, target: ContainerAddressing): Promise<void> {
  const { ifName, index } = target;
  if (target.ips.some((ip) => parseCidr(ip.address).family === 6)) enableIpv6(pod, ifName);
  for (const ip of target.ips) {
    try {
      pod.addrAdd(index, { cidr: ip.address });
    } catch (error: unknown) {
      throw failure(`failed to add IP addr ${ip.address} to ${JSON.stringify(ifName)}`, error);
    }
  }
  try {
    pod.linkSetUp(index);
  } catch (error: unknown) {
    throw failure(`failed to set ${JSON.stringify(ifName)} UP`, error);
  }
  if (target.enableDad && target.ips.some((ip) => ip.gateway !== undefined && parseCidr(ip.address).family === 6)) {
    await settleAddresses(pod, index, ifName);
  }
  addRoutes(pod, target);
}

/** IPv6 may be disabled by default in the pod; the reference enables it on lo and the interface. */
function enableIpv6(pod: Handle, ifName: string): void {
  for (const name of ["lo", ifName]) {
    const key = `net/ipv6/conf/${name}/disable_ipv6`;
    try {
      if (pod.sysctlRead(key) !== "0") pod.sysctlWrite(key, "0");
    } catch (error: unknown) {
      throw failure(`failed to enable IPv6 for interface ${JSON.stringify(name)}`, error);
    }
  }
  optionalSysctl(pod, `net/ipv6/conf/${ifName}/keep_addr_on_down`, "1");
}

function addRoutes(pod: Handle, target: ContainerAddressing): void {
  const defaultGateway = new Map<IpFamily, string>();
  for (const ip of target.ips) {
    const family = parseCidr(ip.address).family;
    if (ip.gateway !== undefined && !defaultGateway.has(family)) defaultGateway.set(family, ip.gateway);
  }
  const added = new Set<string>();
  for (const route of target.routes) {
    const gateway = route.gw ?? defaultGateway.get(parseCidr(route.dst).family);
    // isDefaultGateway next to an IPAM default route without gw names the same route twice.
    const key = JSON.stringify([route.dst, gateway, route.table, route.priority, route.scope]);
    if (added.has(key)) continue;
    added.add(key);
    try {
      pod.routeAddEcmp({
        dst: route.dst,
        linkIndex: target.index,
        ...(gateway !== undefined ? { gateway } : {}),
        ...(route.priority !== undefined ? { priority: route.priority } : {}),
        ...(route.table !== undefined ? { table: route.table } : {}),
        ...(route.scope !== undefined ? { scope: route.scope } : {}),
      });
    } catch (error: unknown) {
      const via = gateway !== undefined ? ` via ${gateway}` : "";
      const message = `failed to add route '${route.dst}${via} dev ${target.ifName}'`;
      // A gateway no address of the interface covers (IPAM's gateway or a route's gw, both from the
      // config): the config is wrong, where the reference answers 999.
      if (isNetlinkError(error, "ENETUNREACH")) {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          message,
          `${gateway ?? "the gateway"} is not reachable through ${target.ifName}'s addresses`,
          { cause: error },
        );
      }
      throw failure(message, error);
    }
  }
}

/** Waits until no IPv6 address of the link is tentative; a failed DAD is an error. */
async function settleAddresses(pod: Handle, index: number, ifName: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const addresses = pod.addrList({ linkIndex: index, family: 6 });
    const failed = addresses.find((a) => (a.flags & IFA_F_DADFAILED) !== 0);
    if (failed !== undefined) {
      throw failure(`failed to settle addresses on ${JSON.stringify(ifName)}`, `${failed.address} failed DAD`);
    }
    if (!addresses.some((a) => (a.flags & IFA_F_TENTATIVE) !== 0)) return;
    if (Date.now() > deadline) {
      throw failure(`failed to settle addresses on ${JSON.stringify(ifName)}`, "addresses still tentative");
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** A sysctl the reference sets without checking: missing when IPv6 is off in the pod, for one. */
function optionalSysctl(pod: Handle, key: string, value: string): void {
  try {
    pod.sysctlWrite(key, value);
  } catch (error: unknown) {
    if (!hasErrorCode(error, "ENOENT")) throw failure(`failed to set ${key}`, error);
  }
}

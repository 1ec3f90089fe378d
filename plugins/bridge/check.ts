// CHECK, as the reference's: the bridge, the container veth and its host peer must be what the
// previous result says (names, MACs, promiscuous mode, the pair's indexes, the port's master), and
// the result's addresses and routes must be in the pod. IPAM is checked first.

import { Address4, Address6 } from "ip-address";

import { CniError, ErrorCode } from "../../cni/errors";
import type { CheckRequest } from "../../cni/plugin";
import type { Interface, IpConfig, Result, Route } from "../../cni/result";
import { IFF_PROMISC, RT_TABLE_UNSPEC } from "../../native/netlink/constants";
import { type Handle, openHandle } from "../../native/netlink/handle";
import { parseCidr } from "../../native/netlink/ip";
import type { Link } from "../../native/netlink/link";
import type { BridgeConfig } from "./config";

export async function checkAttachment(request: CheckRequest, config: BridgeConfig): Promise<void> {
  if (config.ipamType !== undefined) await request.invoke.check(config.ipamType);
  const result = request.prevResult;
  if (result === undefined) throw fail("Required prevResult missing");

  const bridgeEntry = result.interfaces.find((i) => i.name === config.bridge);
  const containerEntry = result.interfaces.find((i) => i.name === request.ifName && i.sandbox === request.netns);
  if (containerEntry === undefined) {
    const sandbox = result.interfaces.find((i) => i.name === request.ifName)?.sandbox ?? "";
    throw fail(`Sandbox in prevResult ${sandbox} doesn't match configured netns: ${request.netns}`);
  }

  const host = await openHandle();
  try {
    const bridge = checkBridge(host, bridgeEntry, config);
    const pod = await openHandle(request.netns);
    try {
      const container = checkContainer(pod, containerEntry);
      checkHostVeth(host, result.interfaces, bridge, container, config);
      checkAddresses(pod, request.ifName, container, result);
      checkRoutes(pod, result.routes);
    } finally {
      pod.close();
    }
  } finally {
    host.close();
  }
}

function checkBridge(host: Handle, entry: Interface | undefined, config: BridgeConfig): Link {
  if (entry === undefined) throw fail(`CNI created bridge ${config.bridge} in host namespace was not found`);
  const link = host.findLink(entry.name);
  if (link === undefined) throw fail(`Interface name ${entry.name} not found`);
  if (entry.sandbox !== undefined && entry.sandbox !== "")
    throw fail(`Interface ${entry.name} should not be in sandbox`);
  if (link.kind !== "bridge") throw fail(`Interface ${entry.name} does not have link type of bridge`);
  if (entry.mac !== undefined && entry.mac !== link.mac) {
    throw fail(`Bridge interface ${entry.name} Mac doesn't match: ${entry.mac}`, `it is ${link.mac ?? "unset"}`);
  }
  const promisc = (link.flags & IFF_PROMISC) !== 0;
  if (promisc !== config.promiscMode) {
    throw fail(
      `Bridge interface ${entry.name} configured Promisc Mode ${config.promiscMode} doesn't match current state: ${promisc}`,
    );
  }
  return link;
}

function checkContainer(pod: Handle, entry: Interface): Link {
  const link = pod.findLink(entry.name);
  if (link === undefined) throw fail(`Interface name ${entry.name} not found`);
  if (link.kind !== "veth") throw fail(`Error: Container interface ${entry.name} not of type veth`);
  if (entry.mac !== undefined && entry.mac !== link.mac) {
    throw fail(`Interface ${entry.name} Mac ${entry.mac} doesn't match container Mac: ${link.mac ?? "unset"}`);
  }
  return link;
}

/** One of the other host-side interfaces of the result must be the container's peer on the bridge. */
function checkHostVeth(
  host: Handle,
  entries: readonly Interface[],
  bridge: Link,
  container: Link,
  config: BridgeConfig,
): void {
  for (const entry of entries) {
    if (entry.name === bridge.name || entry.sandbox !== undefined) continue;
    const link = host.findLink(entry.name);
    if (link?.kind !== "veth") continue;
    if (link.index !== container.parentIndex || link.parentIndex !== container.index) continue;
    if (link.masterIndex !== bridge.index) continue;
    if (entry.mac !== undefined && entry.mac !== link.mac) {
      throw fail(`Interface ${entry.name} Mac doesn't match: ${entry.mac} not found`);
    }
    return;
  }
  throw fail(`CNI veth created for bridge ${config.bridge} was not found`);
}

/** Each address of the container interface is on it, with a route to its subnet. */
function checkAddresses(pod: Handle, ifName: string, container: Link, result: Result): void {
  const containerIndex = result.interfaces.findIndex((i) => i.name === ifName && i.sandbox !== undefined);
  const ips = result.ips.filter((ip: IpConfig) => ip.interface === undefined || ip.interface === containerIndex);
  if (ips.length === 0) return;
  const addresses = pod.addrList({ linkIndex: container.index });
  const routes = pod.routeList({ table: RT_TABLE_UNSPEC });
  for (const ip of ips) {
    const wanted = parseCidr(ip.address);
    if (!addresses.some((a) => a.address === wanted.address && a.prefixLength === wanted.prefixLength)) {
      throw fail(`Failed to match addr ${ip.address} on interface ${ifName}`);
    }
    if (!routes.some((r) => sameSubnet(r.dst, ip.address))) {
      throw fail(`Failed to find Gateway ${ip.gateway ?? "<nil>"} for interface ${ifName}`);
    }
  }
}

/** Each route of the result is in the pod's tables (for a default route, whatever its gateway). */
function checkRoutes(pod: Handle, expected: readonly Route[]): void {
  if (expected.length === 0) return;
  const routes = pod.routeList({ table: RT_TABLE_UNSPEC });
  for (const route of expected) {
    const isDefault = parseCidr(route.dst).prefixLength === 0;
    const found = routes.some(
      (r) =>
        sameSubnet(r.dst, route.dst) &&
        (isDefault ||
          route.gw === undefined ||
          r.gateway === route.gw ||
          r.multipath.some((h) => h.gateway === route.gw)),
    );
    if (!found) throw fail(`Expected Route {Dst:${route.dst} GW:${route.gw ?? "<nil>"}} not found in routing table`);
  }
}

/** `dst` is the subnet of `cidr` (same prefix, host bits cleared). */
function sameSubnet(dst: string, cidr: string): boolean {
  const [d, c] = [parseCidr(dst), parseCidr(cidr)];
  return d.family === c.family && d.prefixLength === c.prefixLength && networkOf(dst) === networkOf(cidr);
}

function networkOf(cidr: string): string {
  return (parseCidr(cidr).family === 4 ? new Address4(cidr) : new Address6(cidr)).startAddress().correctForm();
}

function fail(message: string, details = ""): CniError {
  return new CniError(ErrorCode.Internal, message, details);
}

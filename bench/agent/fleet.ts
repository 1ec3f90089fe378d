// The synthetic cluster the datapath benchmarks program: one node (this one) and `count` remote
// nodes, each with its pod subnet, underlay address and VTEP MAC, as leases (for the agent) and as
// iproute2 batch lines (for the hand-made reference doing the same kernel operations).

import type { Lease } from "../../agent/lease";

/** flannel's net-conf.json for the benchmark: room for 65 535 nodes of /24. */
export const NET_CONF = { Network: "10.0.0.0/8", SubnetLen: 24, Backend: { Type: "vxlan", VNI: 1, Port: 8472 } };
export const DEVICE = "flannel.1";
/** This node: its underlay interface and address, its own lease. */
export const UNDERLAY = { name: "eth0", cidr: "192.168.0.1/16", address: "192.168.0.1", mtu: 1500 };
export const OWN_SUBNET = "10.0.1.0/24";

export interface RemoteNode {
  readonly subnet: string;
  /** The subnet's network address: the address of the peer's VXLAN device. */
  readonly gateway: string;
  readonly publicIp: string;
  readonly vtepMac: string;
}

const hex = (byte: number): string => byte.toString(16).padStart(2, "0");

/**
 * Remote node `n` (1 to 60 000): subnet 10.<1 + n / 256>.<n % 256>.0/24, underlay address
 * 192.168.<1 + n / 250>.<2 + n % 250>.
 */
export function remoteNode(n: number): RemoteNode {
  const gateway = `10.${1 + (n >> 8)}.${n & 0xff}.0`;
  return {
    subnet: `${gateway}/24`,
    gateway,
    publicIp: `192.168.${Math.floor(n / 250) + 1}.${(n % 250) + 2}`,
    vtepMac: `02:00:00:${hex(n >> 16)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`,
  };
}

/** This node's own lease: never a peer, its network address goes on the device. */
export function ownLease(): Lease {
  return {
    key: OWN_SUBNET.replace("/", "-"),
    subnet: OWN_SUBNET,
    attrs: { publicIp: UNDERLAY.address, backendType: "vxlan" },
    expiration: new Date(Date.now() + 86_400_000),
  };
}

export function remoteNodes(count: number): RemoteNode[] {
  return Array.from({ length: count }, (_, i) => remoteNode(i + 1));
}

export function leaseOf(node: RemoteNode): Lease {
  return {
    key: node.subnet.replace("/", "-"),
    subnet: node.subnet,
    attrs: { publicIp: node.publicIp, backendType: "vxlan", backendData: { vni: 1, vtepMac: node.vtepMac } },
    expiration: new Date(Date.now() + 86_400_000),
  };
}

/** What `bridge -batch` and `ip -batch` run to program the same entries as the agent, in its order. */
export function batchesOf(nodes: readonly RemoteNode[]): { bridge: string; ip: string } {
  const neighbours = nodes.map((n) => `neigh replace ${n.gateway} lladdr ${n.vtepMac} dev ${DEVICE} nud permanent`);
  const routes = nodes.map((n) => `route replace ${n.subnet} via ${n.gateway} dev ${DEVICE} onlink`);
  const fdb = nodes.map((n) => `fdb replace ${n.vtepMac} dev ${DEVICE} dst ${n.publicIp} self permanent`);
  return { bridge: `${fdb.join("\n")}\n`, ip: `${[...neighbours, ...routes].join("\n")}\n` };
}

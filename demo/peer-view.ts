// What each node's agent was asked to do and what it did: the peers leased in the store (the
// files of the embedded store, decoded with the agent's own codec), the entries on flannel.1 (read
// with `ip -j` / `bridge -j`), and the peer count the agent reports on /metrics.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";

import { decodeLeaseAttrs, parseLeaseKey } from "../agent/store/lease-codec";
import { kernelPeerEntries, type OverlayNode, type PeerEntries, wantedPeerEntries } from "../netlab/overlay-cluster";

export interface LeasedPeer {
  readonly subnet: string;
  readonly publicIp: string;
  readonly vtepMac: string;
}

export interface PeerStatus extends LeasedPeer {
  /** The node at `publicIp`, when it is one of the demo's. */
  readonly node: string | undefined;
  readonly route: boolean;
  readonly neighbour: boolean;
  readonly fdb: boolean;
}

export interface NodePeerView {
  readonly node: string;
  readonly subnet: string;
  readonly peers: readonly PeerStatus[];
  /** Entries on flannel.1 that belong to no lease ("route 10.244.9.0/24"). */
  readonly stale: readonly string[];
  /** `tscni_agent_peers{family="ipv4"}`, undefined when the agent did not answer. */
  readonly reportedPeers: number | undefined;
}

/** The IPv4 leases in a file store directory (`<directory>/subnets/<key>`). */
export function readFileStoreLeases(directory: string): LeasedPeer[] {
  const subnetsDir = join(directory, "subnets");
  return readdirSync(subnetsDir).flatMap((name) => {
    const subnet = parseLeaseKey(name)?.subnet;
    if (subnet === undefined) return []; // a temporary file of a writer
    const attrs = decodeLeaseAttrs(JSON.parse(readFileSync(join(subnetsDir, name), "utf8")));
    const vtepMac = attrs.backendData?.vtepMac;
    return vtepMac === undefined ? [] : [{ subnet, publicIp: attrs.publicIp, vtepMac }];
  });
}

export function nodePeerView(
  node: OverlayNode,
  leases: readonly LeasedPeer[],
  nodes: readonly OverlayNode[],
): NodePeerView {
  const subnet = node.subnet();
  const peers = leases.filter((lease) => lease.subnet !== subnet);
  const kernel = kernelPeerEntries(node.ns);
  const has = <T>(entries: readonly T[], wanted: T | undefined) =>
    wanted !== undefined && entries.some((entry) => isDeepStrictEqual(entry, wanted));
  const statuses = peers.map((peer) => {
    const wanted = wantedPeerEntries([peer]);
    return {
      ...peer,
      node: nodes.find((n) => n.node.underlayIp === peer.publicIp)?.name,
      route: has(kernel.routes, wanted.routes[0]),
      neighbour: has(kernel.neighbours, wanted.neighbours[0]),
      fdb: has(kernel.fdb, wanted.fdb[0]),
    };
  });
  return {
    node: node.name,
    subnet,
    peers: statuses.sort((a, b) => (a.node ?? a.publicIp).localeCompare(b.node ?? b.publicIp)),
    stale: staleEntries(kernel, wantedPeerEntries(peers)),
    reportedPeers: reportedPeers(node.agentEndpoint("/metrics")),
  };
}

function staleEntries(kernel: PeerEntries, wanted: PeerEntries): string[] {
  const extra = <T>(entries: readonly T[], keep: readonly T[]) =>
    entries.filter((entry) => !keep.some((k) => isDeepStrictEqual(k, entry)));
  return [
    ...extra(kernel.routes, wanted.routes).map((r) => `route ${r.dst}`),
    ...extra(kernel.neighbours, wanted.neighbours).map((n) => `neighbour ${n.dst}`),
    ...extra(kernel.fdb, wanted.fdb).map((e) => `fdb ${e.mac}`),
  ];
}

function reportedPeers(metrics: string | undefined): number | undefined {
  const match = /^tscni_agent_peers\{family="ipv4"\} (\d+)$/m.exec(metrics ?? "");
  return match === null ? undefined : Number(match[1]);
}

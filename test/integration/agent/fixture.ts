// Agents run in the test process against an in-memory lease store, each with a netlink Handle
// opened in its node's namespace, plus the `ip -j` shapes the assertions read.

import { createLogSink, isLogLevel } from "../../../cni/log";
import { Agent, type AgentOptions } from "../../../agent/daemon";
import type { NetworkConfig } from "../../../agent/network-config";
import { type Handle, openHandle } from "../../../native/netlink/handle";
import type { ClusterNode } from "../../helpers/cluster";
import { MemoryLeaseStore, renewAt, simpleAcquire } from "../../helpers/memory-lease-store";

export interface RunningAgent {
  readonly agent: Agent;
  readonly handle: Handle;
  stop(): Promise<void>;
}

const level = process.env["TSCNI_TEST_AGENT_LOG"] ?? "error";

/** Starts an agent for `node`; stop() ends its loops and closes its handle (the datapath stays). */
export async function startAgent(
  node: ClusterNode,
  store: MemoryLeaseStore,
  config: NetworkConfig,
  options: Partial<AgentOptions> = {},
): Promise<RunningAgent> {
  const handle = await openHandle(node.ns.path);
  const sink = createLogSink({ level: isLogLevel(level) ? level : "error", stderr: (line) => console.error(line) });
  const agent = new Agent(
    handle,
    config,
    {
      underlay: { ifaces: [], ifaceRegexes: [], publicIp: undefined, publicIpv6: undefined, ipv4: true, ipv6: false },
      subnetFile: node.subnetFile,
      ipMasq: true,
      // The tests call reconcile() themselves; the loop must not race them.
      reconcileIntervalSeconds: 3600,
      leaseTtlSeconds: 86400,
      renewMarginSeconds: 3600,
      ...options,
    },
    { store, acquireLease: simpleAcquire, renewAt },
    sink.logger.child({ node: node.name }),
  );
  try {
    await agent.start();
  } catch (error: unknown) {
    handle.close();
    throw error;
  }
  return {
    agent,
    handle,
    async stop() {
      await agent.stop();
      handle.close();
      await sink.flush();
    },
  };
}

export interface IpLinkDetails {
  readonly ifname: string;
  readonly mtu: number;
  readonly address: string;
  readonly flags: readonly string[];
  readonly linkinfo: { readonly info_kind: string; readonly info_data: Readonly<Record<string, unknown>> };
}

export interface IpAddress {
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}

export interface IpNeighbour {
  readonly dst: string;
  readonly lladdr?: string;
  readonly state: readonly string[];
}

export interface BridgeFdb {
  readonly mac: string;
  readonly dst?: string;
  readonly flags: readonly string[];
  readonly state: string;
}

export interface IpRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
  readonly flags: readonly string[];
}

/** What a node's kernel holds for its peers, in the oracle's words. */
export function peerState(node: ClusterNode, device = "flannel.1", family: "-4" | "-6" = "-4") {
  return {
    neighbours: node.ns
      .ipJson<IpNeighbour[]>(family, "neigh", "show", "dev", device, "nud", "all")
      .map((n) => ({ dst: n.dst, lladdr: n.lladdr, state: n.state })),
    fdb: node.ns
      .bridgeJson<BridgeFdb[]>("fdb", "show", "dev", device)
      .map((e) => ({ mac: e.mac, dst: e.dst, state: e.state })),
    routes: node.ns
      .ipJson<IpRoute[]>(family, "route", "show", "dev", device)
      .map((r) => ({ dst: r.dst, gateway: r.gateway, flags: r.flags })),
  };
}

export { MemoryLeaseStore };
export type { NetworkConfig };

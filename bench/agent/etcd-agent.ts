// The agent binary watching a real etcd: how long a lease written by another node takes to become
// a route in this node's kernel, how the agent keeps up with a burst of leases, and its memory.
//
// The topology is test/helpers/cluster.ts's: an underlay namespace with a bridge, where etcd
// listens (test/helpers/etcd.ts), and node namespaces where `tscni agent --etcd-endpoints` runs.
// Leases are written by our etcd store in a process of its own inside the underlay namespace
// (test/helpers/lease-store.ts), as another node's agent writes its lease: an etcd lease grant,
// then a create-if-absent transaction. A write is timed from just before its request is sent, on
// the wall clock that `ip -ts monitor route` stamps the node's new routes with (route-monitor.ts).

import { existsSync, readFileSync } from "node:fs";

import type { LeaseAttrs } from "../../agent/lease";
import { type AgentProcess, Cluster, type ClusterNode, eventually } from "../../test/helpers/cluster";
import { TestEtcd } from "../../test/helpers/etcd";
import { LeaseStoreDriver } from "../../test/helpers/lease-store";
import { BUILT_BINARY } from "../../test/helpers/suite";
import { DEVICE, remoteNode, type RemoteNode } from "./fleet";
import { onInterrupt } from "./interrupt";
import { type Figure, median, percentile } from "./report";
import { RouteMonitor, wallClock } from "./route-monitor";

export interface EtcdAgentOptions {
  /** Leases written one at a time, at first and again once the node has all its peers. */
  readonly latencyLeases: number;
  /** Peers in total, most of them written in bursts. */
  readonly peers: number;
  /** Idle time before memory is read again: the runtime returns freed memory lazily. */
  readonly settleSeconds: number;
}

/** Own subnets in 10.0.0.0/16, away from the synthetic peers' (10.1.0.0 and up). */
const NET_CONF = {
  Network: "10.0.0.0/8",
  SubnetLen: 24,
  SubnetMin: "10.0.1.0",
  SubnetMax: "10.0.255.0",
  Backend: { Type: "vxlan" },
};
const PREFIX = "/coreos.com/network";
const BURST = 50;
const TTL_SECONDS = 86_400;

const attrsOf = (node: RemoteNode): LeaseAttrs => ({
  publicIp: node.publicIp,
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: node.vtepMac },
});

interface Memory {
  readonly rss: number;
  readonly peak: number;
}

/** VmRSS and VmHWM of a process, in MiB. */
function memoryOf(agent: AgentProcess): Memory {
  const status = readFileSync(`/proc/${agent.pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

function memoryFigures(what: string, after: Memory, settled: Memory, seconds: number): Figure[] {
  const none = { kind: "none" } as const;
  return [
    { name: `agent VmRSS, ${what}`, unit: "MiB", tscni: after.rss, target: none },
    {
      name: `  ${seconds} s later (VmHWM ${settled.peak.toFixed(0)} MiB)`,
      unit: "MiB",
      tscni: settled.rss,
      target: none,
    },
  ];
}

const routeCount = (node: ClusterNode): number =>
  node.ns.ipJson<unknown[]>("-4", "route", "show", "dev", DEVICE).length;

class EtcdCluster {
  readonly cluster = new Cluster({ underlayPrefix: "192.168.77" });
  private etcd: TestEtcd | undefined;
  private writer: LeaseStoreDriver | undefined;

  async start(): Promise<void> {
    this.etcd = await TestEtcd.start(this.cluster.underlay, { host: `${this.cluster.underlayPrefix}.1` });
    this.etcd.etcdctl("put", `${PREFIX}/config`, JSON.stringify(NET_CONF));
    this.writer = await LeaseStoreDriver.start(
      { kind: "etcd", endpoints: [this.etcd.endpoint], prefix: PREFIX },
      { ns: this.cluster.underlay },
    );
  }

  /** A node whose agent is up: its lease taken, subnet.env written. */
  async readyNode(name: string): Promise<{ node: ClusterNode; agent: AgentProcess }> {
    const node = this.cluster.addNode(name);
    const agent = node.startAgent(BUILT_BINARY, [
      ...["--etcd-endpoints", this.etcd?.endpoint ?? "", "--etcd-prefix", PREFIX, "--iface", "eth0"],
      ...["--subnet-file", node.subnetFile, "--metrics-address", "", "--log-level", "warn"],
    ]);
    if (!(await eventually(() => existsSync(node.subnetFile), 20_000))) {
      throw new Error(`the agent on ${name} did not become ready:\n${agent.logs}`);
    }
    return { node, agent };
  }

  /** Writes the lease of remote node `n` as its agent would. */
  async write(n: number): Promise<void> {
    const peer = remoteNode(n);
    if ((await this.writer?.create({ subnet: peer.subnet }, attrsOf(peer), TTL_SECONDS)) === undefined) {
      throw new Error(`cannot create the lease of ${peer.subnet}`);
    }
  }

  async destroy(): Promise<void> {
    await this.writer?.stop();
    await this.etcd?.stop();
    this.cluster.destroy();
  }

  /** destroy() for a signal handler: nothing to wait for. */
  destroyNow(): void {
    this.writer?.kill();
    this.etcd?.killNow();
    this.cluster.destroy();
  }
}

/** Writes leases `from` to `to` one at a time; per lease, the milliseconds until its route appeared. */
async function lagOneByOne(etcd: EtcdCluster, monitor: RouteMonitor, from: number, to: number): Promise<number[]> {
  const lags: number[] = [];
  for (let n = from; n <= to; n++) {
    const written = wallClock();
    await etcd.write(n);
    lags.push((await monitor.appeared(remoteNode(n).subnet, 10_000)) - written);
  }
  return lags;
}

export async function benchmarkEtcdAgent(options: EtcdAgentOptions): Promise<Figure[]> {
  const etcd = new EtcdCluster();
  let monitor: RouteMonitor | undefined;
  const forget = onInterrupt(() => {
    monitor?.stop();
    etcd.destroyNow();
  });
  try {
    await etcd.start();
    const first = await etcd.readyNode("node1");
    const idle = memoryOf(first.agent);
    monitor = await RouteMonitor.start(first.node.ns);

    const few = await lagOneByOne(etcd, monitor, 1, options.latencyLeases);
    // The bulk, in bursts of concurrent writes; the last route is waited for, whatever its order.
    const burstStart = options.latencyLeases + 1;
    const burstEnd = options.peers - options.latencyLeases;
    for (let n = burstStart; n <= burstEnd; n += BURST) {
      const count = Math.min(BURST, burstEnd - n + 1);
      await Promise.all(Array.from({ length: count }, (_, i) => etcd.write(n + i)));
    }
    const burstWritten = wallClock();
    let lastRoute = 0;
    for (let n = burstStart; n <= burstEnd; n++) {
      lastRoute = Math.max(lastRoute, await monitor.appeared(remoteNode(n).subnet, 120_000));
    }
    const many = await lagOneByOne(etcd, monitor, burstEnd + 1, options.peers);
    if (routeCount(first.node) !== options.peers) {
      throw new Error(`${routeCount(first.node)} routes on ${DEVICE} of node1, wanted ${options.peers}`);
    }
    const fromEvents = memoryOf(first.agent);

    // A node joining the cluster: its agent's first snapshot holds every lease.
    const joinStarted = wallClock();
    const second = await etcd.readyNode("node2");
    const peersOfSecond = options.peers + 1;
    if (!(await eventually(() => routeCount(second.node) === peersOfSecond, 60_000, 50))) {
      throw new Error(`node2 did not program its ${peersOfSecond} peers:\n${second.agent.logs}`);
    }
    const joined = wallClock() - joinStarted;
    const fromSnapshot = memoryOf(second.agent);
    await new Promise((resolve) => setTimeout(resolve, options.settleSeconds * 1000));
    const settled = { events: memoryOf(first.agent), snapshot: memoryOf(second.agent) };

    const P = options.peers;
    const L = options.latencyLeases;
    const none = { kind: "none" } as const;
    return [
      {
        name: `etcd lease -> route, p50 of ${L} (< ${L} peers)`,
        unit: "ms",
        tscni: median(few),
        target: { kind: "below", value: 100 },
      },
      { name: `etcd lease -> route, p90 (< ${L} peers)`, unit: "ms", tscni: percentile(few, 0.9), target: none },
      {
        name: `etcd lease -> route, p50 of ${L} (${P - L}+ peers)`,
        unit: "ms",
        tscni: median(many),
        target: { kind: "below", value: 100 },
      },
      {
        name: `burst of ${burstEnd - burstStart + 1} leases: last route after last write`,
        unit: "ms",
        tscni: lastRoute - burstWritten,
        target: none,
      },
      { name: `new node: agent start to ${peersOfSecond} routes`, unit: "ms", tscni: joined, target: none },
      { name: "agent VmRSS, no peers", unit: "MiB", tscni: idle.rss, target: none },
      ...memoryFigures(`${P} peers from lease events`, fromEvents, settled.events, options.settleSeconds),
      ...memoryFigures(
        `${peersOfSecond} peers from its first snapshot`,
        fromSnapshot,
        settled.snapshot,
        options.settleSeconds,
      ),
    ];
  } finally {
    forget();
    monitor?.stop();
    await etcd.destroy();
  }
}

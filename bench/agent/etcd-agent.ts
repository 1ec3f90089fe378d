// The agent binary watching a real etcd: how long a lease written by another node takes to become
// a route in this node's kernel, and the agent's memory once it programs 1000 peers.
//
// The topology is test/helpers/cluster.ts's: an underlay namespace with a bridge, where etcd
// listens (test/helpers/etcd.ts), and a node namespace where `tscni agent --etcd-endpoints` runs.
// Leases are written by our etcd store in a process of its own inside the underlay namespace
// (test/helpers/lease-store.ts), as another node's agent writes its lease: an etcd lease grant,
// then a create-if-absent transaction.
//
// The kernel is observed with `ip -ts monitor route` in the node namespace: the kernel multicasts
// RTM_NEWROUTE to listeners while it inserts the route, and ip stamps each message with the wall
// clock as it reads it, so a route's time is within scheduling noise of its insertion, without a
// polling interval's quantisation or the load of repeated dumps. The write is timed with the same
// clock (performance.timeOrigin + now()) just before the create request is sent.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import type { LeaseAttrs } from "../../agent/lease";
import { Cluster, eventually } from "../../test/helpers/cluster";
import { TestEtcd } from "../../test/helpers/etcd";
import type { TestNetns } from "../../test/helpers/netns";
import { LeaseStoreDriver } from "../../test/helpers/lease-store";
import { BUILT_BINARY } from "../../test/helpers/suite";
import { DEVICE, remoteNode, type RemoteNode } from "./fleet";
import { type Figure, median, percentile } from "./report";

export interface EtcdAgentOptions {
  /** Leases written one at a time for the latency figure. */
  readonly latencyLeases: number;
  /** Peers in total for the memory figure. */
  readonly peers: number;
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
const WRITE_CONCURRENCY = 50;

const wallClock = (): number => performance.timeOrigin + performance.now();

/** `[2026-01-02T03:04:05.123456] 10.1.1.0/24 via ...` -> the new route and the epoch milliseconds. */
function parseMonitorLine(line: string): { dst: string; at: number } | undefined {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\] (?!Deleted )(\S+) /.exec(line);
  if (match === null) return undefined;
  const [, localTime = "", fraction = "0", dst = ""] = match;
  // ip prints local time without a zone; Date reads such a string as local time too.
  return { dst, at: new Date(localTime).getTime() + Number(`0.${fraction}`) * 1000 };
}

/** The first time each route appeared, from `ip -ts monitor route` in the namespace. */
class RouteMonitor {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();

  private constructor(netns: string) {
    this.child = spawn("ip", ["-n", netns, "-ts", "monitor", "route"]);
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const route = parseMonitorLine(line);
      if (route === undefined || this.seen.has(route.dst)) return;
      this.seen.set(route.dst, route.at);
      this.waiters.get(route.dst)?.();
    });
  }

  /** Starts a monitor in `ns` and returns once it is listening (it saw a route change made for it). */
  static async start(ns: TestNetns): Promise<RouteMonitor> {
    const monitor = new RouteMonitor(ns.name);
    const probe = "198.51.100.0/24"; // TEST-NET-2, on the namespace's loopback
    try {
      for (let attempt = 1; ; attempt++) {
        ns.ip("route", "replace", probe, "dev", "lo");
        const seen = await monitor.appeared(probe, 200).catch(() => undefined);
        ns.ip("route", "del", probe, "dev", "lo");
        if (seen !== undefined) return monitor;
        if (attempt === 50) throw new Error("ip monitor does not report route changes");
      }
    } catch (error: unknown) {
      monitor.stop();
      throw error;
    }
  }

  /** When the route to `dst` appeared; rejects after `timeoutMs`. */
  async appeared(dst: string, timeoutMs: number): Promise<number> {
    const known = this.seen.get(dst);
    if (known !== undefined) return known;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no route to ${dst} within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.set(dst, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      this.waiters.delete(dst);
    }
    return this.seen.get(dst) ?? NaN;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, "SIGKILL");
  }
}

const attrsOf = (node: RemoteNode): LeaseAttrs => ({
  publicIp: node.publicIp,
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: node.vtepMac },
});

/** VmRSS and VmHWM of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

export async function benchmarkEtcdAgent(options: EtcdAgentOptions): Promise<Figure[]> {
  const cluster = new Cluster({ underlayPrefix: "192.168.77" });
  let etcd: TestEtcd | undefined;
  let writer: LeaseStoreDriver | undefined;
  let monitor: RouteMonitor | undefined;
  try {
    const node = cluster.addNode("node1");
    etcd = await TestEtcd.start(cluster.underlay, { host: "192.168.77.1" });
    etcd.etcdctl("put", `${PREFIX}/config`, JSON.stringify(NET_CONF));
    writer = await LeaseStoreDriver.start({ kind: "etcd", endpoints: [etcd.endpoint], prefix: PREFIX }, {
      ns: cluster.underlay,
    });
    const agent = node.startAgent(BUILT_BINARY, [
      ...["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", PREFIX, "--iface", "eth0"],
      ...["--subnet-file", node.subnetFile, "--metrics-address", "", "--log-level", "warn"],
    ]);
    if (!(await eventually(() => existsSync(node.subnetFile), 20_000))) {
      throw new Error(`the agent did not become ready:\n${agent.logs}`);
    }
    monitor = await RouteMonitor.start(node.ns);

    const latencies: number[] = [];
    const acknowledged: number[] = [];
    for (let n = 1; n <= options.latencyLeases; n++) {
      const peer = remoteNode(n);
      const written = wallClock();
      if ((await writer.create({ subnet: peer.subnet }, attrsOf(peer), 86_400)) === undefined) {
        throw new Error(`the lease ${peer.subnet} already exists`);
      }
      acknowledged.push(wallClock() - written);
      latencies.push((await monitor.appeared(peer.subnet, 10_000)) - written);
    }

    for (let n = options.latencyLeases + 1; n <= options.peers; n += WRITE_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(WRITE_CONCURRENCY, options.peers - n + 1) }, (_, i) => remoteNode(n + i));
      await Promise.all(batch.map((peer) => writer?.create({ subnet: peer.subnet }, attrsOf(peer), 86_400)));
    }
    const allWritten = wallClock();
    const appeared: number[] = [];
    for (let n = options.latencyLeases + 1; n <= options.peers; n++) {
      appeared.push(await monitor.appeared(remoteNode(n).subnet, 120_000));
    }
    const converged = Math.max(...appeared) - allWritten;
    const routes = node.ns.ipJson<unknown[]>("-4", "route", "show", "dev", DEVICE).length;
    if (routes !== options.peers) throw new Error(`${routes} routes on ${DEVICE}, wanted ${options.peers}`);
    const memory = memoryOf(agent.pid);
    return [
      {
        name: `etcd lease -> kernel route, p50 of ${options.latencyLeases}`,
        unit: "ms",
        tscni: median(latencies),
        target: { kind: "below", value: 100 },
      },
      { name: "etcd lease -> kernel route, p90", unit: "ms", tscni: percentile(latencies, 0.9), target: { kind: "none" } },
      { name: "  of which the write (grant + txn), p50", unit: "ms", tscni: median(acknowledged), target: { kind: "none" } },
      {
        name: `${options.peers - options.latencyLeases} more leases: last route after last write`,
        unit: "ms",
        tscni: converged,
        target: { kind: "none" },
      },
      { name: `agent VmRSS at ${options.peers} peers (etcd store)`, unit: "MiB", tscni: memory.rss, target: { kind: "none" } },
      { name: `agent VmHWM at ${options.peers} peers (etcd store)`, unit: "MiB", tscni: memory.peak, target: { kind: "none" } },
    ];
  } finally {
    monitor?.stop();
    await writer?.stop();
    await etcd?.stop();
    cluster.destroy();
  }
}

// TCP throughput pod to pod across two nodes over the VXLAN overlay (iperf3): the agents' overlay
// against the same topology wired by hand with iproute2 (a VXLAN device with static neighbour, FDB
// and route entries, the same MTU). Pods are wired the same way on both sides (a cni0 bridge and a
// veth per pod, at the MTU the node's subnet.env advertises), so the overlay is the difference.
// Runs alternate between the sides; every namespace's IP fragmentation counters must stay still.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";

import { Cluster, type ClusterNode, eventually, type Pod } from "../../test/helpers/cluster";
import type { TestNetns } from "../../test/helpers/netns";
import { runOk } from "../../test/helpers/run";
import { BUILT_BINARY } from "../../test/helpers/suite";
import { type Figure, median } from "./report";

export interface ThroughputOptions {
  readonly seconds: number;
  readonly repetitions: number;
}

/** Two pods on different nodes, an iperf3 server in the second, and every namespace on the path. */
interface PodPair {
  readonly label: string;
  readonly client: Pod;
  readonly server: Pod;
  readonly namespaces: readonly TestNetns[];
  /** MTUs along the path, for the report. */
  readonly mtus: string;
}

const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };
const FRAGMENT_COUNTERS = ["FragCreates", "FragOKs", "FragFails", "ReasmReqds"] as const;

/** The IP fragmentation counters of a namespace (/proc/net/snmp as a process inside it sees it). */
function fragmentCounters(ns: TestNetns): Record<string, number> {
  const lines = runOk("ip", ["netns", "exec", ns.name, "cat", "/proc/net/snmp"])
    .split("\n")
    .filter((l) => l.startsWith("Ip: "));
  const names = (lines[0] ?? "").split(" ");
  const values = (lines[1] ?? "").split(" ").map(Number);
  return Object.fromEntries(FRAGMENT_COUNTERS.map((c) => [c, values[names.indexOf(c)] ?? NaN]));
}

function subnetEnv(node: ClusterNode): { subnet: string; mtu: number } | undefined {
  try {
    const text = readFileSync(node.subnetFile, "utf8");
    const gateway = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(text)?.[1];
    const mtu = Number(/^FLANNEL_MTU=(\d+)$/m.exec(text)?.[1]);
    return gateway === undefined || !(mtu > 0) ? undefined : { subnet: `${gateway}.0/24`, mtu };
  } catch {
    return undefined;
  }
}

/**
 * A pod wired as the bridge plugin wires it, at `mtu`. The cluster helper sets the MTU on the veth's
 * node end only; the pod's end gets it here, as the bridge plugin gives it to both ends.
 */
function addPod(node: ClusterNode, subnet: string, mtu: number): Pod {
  const pod = node.addPod(subnet, mtu);
  pod.ns.ip("link", "set", "eth0", "mtu", String(mtu));
  return pod;
}

const linkMtu = (ns: TestNetns, device: string): number =>
  ns.ipJson<{ mtu: number }[]>("link", "show", device)[0]?.mtu ?? NaN;

/** Two nodes whose agents (the compiled binary, the file store) build the overlay. */
async function agentPair(cluster: Cluster): Promise<PodPair> {
  const netConf = join(cluster.dir, "net-conf.json");
  writeFileSync(netConf, JSON.stringify(NET_CONF));
  const nodes = [cluster.addNode("tnode1"), cluster.addNode("tnode2")];
  for (const node of nodes) {
    node.startAgent(BUILT_BINARY, [
      ...["--net-config-path", netConf, "--store", `file:${join(cluster.dir, "leases")}`, "--iface", "eth0"],
      ...["--subnet-file", node.subnetFile, "--metrics-address", "", "--log-level", "warn"],
    ]);
  }
  const envs = await Promise.all(
    nodes.map(async (node) => {
      if (!(await eventually(() => subnetEnv(node) !== undefined, 20_000)))
        throw new Error(`${node.name}: no subnet.env`);
      return subnetEnv(node) ?? { subnet: "", mtu: 0 };
    }),
  );
  const [one, two] = nodes.map((node, i) => addPod(node, envs[i]?.subnet ?? "", envs[i]?.mtu ?? 0)) as [Pod, Pod];
  const ready = await eventually(() => one.ping(two.ip, { timeoutSeconds: 1 }), 20_000, 200);
  if (!ready) throw new Error("the agents' overlay does not carry pod traffic");
  const node = nodes[0] as ClusterNode;
  return {
    label: "tscni agent",
    client: one,
    server: two,
    namespaces: [cluster.underlay, ...nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])],
    mtus: `flannel.1 ${linkMtu(node.ns, "flannel.1")}, pod eth0 ${linkMtu(one.ns, "eth0")}`,
  };
}

/** The same two nodes with a VXLAN device and each other's entries made with `ip` and `bridge`. */
function handMadePair(cluster: Cluster): PodPair {
  const nodes = [cluster.addNode("hnode1"), cluster.addNode("hnode2")];
  const mtu = cluster.mtu - 50;
  const plan = nodes.map((node, i) => ({
    node,
    subnet: `10.244.${i + 1}.0/24`,
    gateway: `10.244.${i + 1}.0`,
    mac: `02:00:00:00:01:0${i + 1}`,
  }));
  for (const self of plan) {
    const ns = self.node.ns;
    ns.ip(
      ...["link", "add", "vxlan0", "mtu", String(mtu), "address", self.mac, "type", "vxlan", "id", "1"],
      ...["local", self.node.underlayIp, "dev", "eth0", "dstport", "8472", "nolearning"],
    );
    ns.ip("addr", "add", `${self.gateway}/32`, "dev", "vxlan0");
    ns.ip("link", "set", "vxlan0", "up");
    for (const peer of plan.filter((p) => p !== self)) {
      ns.ip("neigh", "replace", peer.gateway, "lladdr", peer.mac, "dev", "vxlan0", "nud", "permanent");
      runOk("bridge", ["-n", ns.name, "fdb", "replace", peer.mac, "dev", "vxlan0", "dst", peer.node.underlayIp]);
      ns.ip("route", "replace", peer.subnet, "via", peer.gateway, "dev", "vxlan0", "onlink");
    }
  }
  const [one, two] = plan.map((p) => addPod(p.node, p.subnet, mtu)) as [Pod, Pod];
  if (!one.ping(two.ip, { timeoutSeconds: 2 })) throw new Error("the hand-made overlay does not carry pod traffic");
  return {
    label: "by hand",
    client: one,
    server: two,
    namespaces: [cluster.underlay, ...nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])],
    mtus: `vxlan0 ${linkMtu(nodes[0]?.ns as TestNetns, "vxlan0")}, pod eth0 ${linkMtu(one.ns, "eth0")}`,
  };
}

/** One iperf3 run from client to server: the receiver's bits per second. */
function iperf(pair: PodPair, seconds: number): number {
  const output = runOk("ip", [
    ...["netns", "exec", pair.client.ns.name, "iperf3", "-c", pair.server.ip],
    ...["-t", String(seconds), "-O", "1", "-J", "--connect-timeout", "3000"],
  ]);
  const result = JSON.parse(output) as { end?: { sum_received?: { bits_per_second?: number } } };
  const bps = result.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3 gave no result: ${output.slice(0, 500)}`);
  return bps;
}

/** Runs iperf3 and fails when any namespace on the path fragmented or reassembled a packet. */
function iperfWithoutFragments(pair: PodPair, seconds: number): number {
  const before = pair.namespaces.map(fragmentCounters);
  const bps = iperf(pair, seconds);
  pair.namespaces.forEach((ns, i) => {
    const after = fragmentCounters(ns);
    for (const counter of FRAGMENT_COUNTERS) {
      const delta = (after[counter] ?? NaN) - (before[i]?.[counter] ?? NaN);
      if (delta !== 0) throw new Error(`${pair.label}: ${ns.name} ${counter} changed by ${delta} (fragmentation)`);
    }
  });
  return bps;
}

function startServer(pair: PodPair): ChildProcess {
  return spawn("ip", ["netns", "exec", pair.server.ns.name, "iperf3", "-s"], { stdio: "ignore" });
}

export async function benchmarkThroughput(options: ThroughputOptions): Promise<Figure[]> {
  const clusters = [new Cluster({ underlayPrefix: "192.168.78" }), new Cluster({ underlayPrefix: "192.168.79" })];
  const servers: ChildProcess[] = [];
  try {
    const ours = await agentPair(clusters[0] as Cluster);
    const reference = handMadePair(clusters[1] as Cluster);
    for (const pair of [ours, reference]) servers.push(startServer(pair));
    // The servers listen once a short run gets through.
    for (const pair of [ours, reference]) {
      if (!(await eventually(() => iperfSafely(pair) !== undefined, 10_000, 200))) {
        throw new Error(`${pair.label}: the iperf3 server does not answer`);
      }
    }
    const samples = new Map<PodPair, number[]>([
      [ours, []],
      [reference, []],
    ]);
    for (let i = 0; i < options.repetitions; i++) {
      for (const pair of i % 2 === 0 ? [ours, reference] : [reference, ours]) {
        samples.get(pair)?.push(iperfWithoutFragments(pair, options.seconds) / 1e9);
      }
    }
    console.log(`\niperf3 path MTUs: tscni ${ours.mtus}; by hand ${reference.mtus}; no IP fragments in any namespace`);
    return [
      {
        name: `TCP pod to pod across nodes (median of ${options.repetitions} x ${options.seconds} s)`,
        unit: "Gbit/s",
        tscni: median(samples.get(ours) ?? []),
        reference: median(samples.get(reference) ?? []),
        target: { kind: "ratio at least", value: 0.97 },
      },
    ];
  } finally {
    for (const server of servers)
      if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, "SIGKILL");
    for (const cluster of clusters) cluster.destroy();
  }
}

function iperfSafely(pair: PodPair): number | undefined {
  try {
    return iperf(pair, 1);
  } catch {
    return undefined;
  }
}

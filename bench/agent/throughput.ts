// TCP throughput between pods (iperf3), across two nodes over the VXLAN overlay and on one node's
// bridge: the product against the same topology made by hand (pod-pairs.ts). Runs alternate
// between the sides, each pair's median is compared, and every namespace on the path must leave its
// IP fragmentation counters untouched: the MTUs fit, nothing is fragmented or reassembled.

import { type ChildProcess, spawn } from "node:child_process";

import { eventually } from "../../test/helpers/cluster";
import type { TestNetns } from "../../test/helpers/netns";
import { runOk } from "../../test/helpers/run";
import { onInterrupt } from "./interrupt";
import { handMadeCluster, type PodCluster, type PodPair, productCluster } from "./pod-pairs";
import { type Figure, median } from "./report";

export interface ThroughputOptions {
  readonly seconds: number;
  readonly repetitions: number;
}

const FRAGMENT_COUNTERS = ["FragCreates", "FragOKs", "FragFails", "ReasmReqds"] as const;

/** The IP fragmentation counters of a namespace (/proc/net/snmp as a process inside it sees it). */
function fragmentCounters(ns: TestNetns): number[] {
  const lines = runOk("ip", ["netns", "exec", ns.name, "cat", "/proc/net/snmp"])
    .split("\n")
    .filter((l) => l.startsWith("Ip: "));
  const names = (lines[0] ?? "").split(" ");
  const values = (lines[1] ?? "").split(" ").map(Number);
  return FRAGMENT_COUNTERS.map((c) => values[names.indexOf(c)] ?? NaN);
}

/** One iperf3 run from the client to the server pod: the receiver's Gbit/s. */
function iperf(pair: PodPair, seconds: number): number {
  const output = runOk("ip", [
    ...["netns", "exec", pair.client.ns.name, "iperf3", "-c", pair.server.ip],
    ...["-t", String(seconds), "-O", "1", "-J", "--connect-timeout", "3000"],
  ]);
  const result = JSON.parse(output) as { end?: { sum_received?: { bits_per_second?: number } } };
  const bps = result.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3 gave no result: ${output.slice(0, 500)}`);
  return bps / 1e9;
}

/** Runs iperf3; fails when any namespace on the path fragmented or reassembled a packet. */
function iperfWithoutFragments(pair: PodPair, seconds: number): number {
  const before = pair.namespaces.map(fragmentCounters);
  const gbps = iperf(pair, seconds);
  pair.namespaces.forEach((ns, i) => {
    fragmentCounters(ns).forEach((after, c) => {
      const delta = after - (before[i]?.[c] ?? NaN);
      if (delta !== 0) throw new Error(`${pair.label}: ${FRAGMENT_COUNTERS[c]} of ${ns.name} changed by ${delta}`);
    });
  });
  return gbps;
}

/** Starts an iperf3 server in the pair's server pod and returns once a short run gets through. */
async function startServer(pair: PodPair, servers: ChildProcess[]): Promise<void> {
  servers.push(spawn("ip", ["netns", "exec", pair.server.ns.name, "iperf3", "-s"], { stdio: "ignore" }));
  const answers = () => {
    try {
      return iperf(pair, 1) > 0;
    } catch {
      return false;
    }
  };
  if (!(await eventually(answers, 10_000, 200))) throw new Error(`${pair.label}: the iperf3 server does not answer`);
}

/**
 * Runs both pairs in turn, alternating which goes first: the median Gbit/s of each, and the median
 * of the ratios of back-to-back runs, which cancels the drift of a shared machine's load.
 */
function compare(ours: PodPair, reference: PodPair, options: ThroughputOptions) {
  const samples = { ours: [] as number[], reference: [] as number[], ratios: [] as number[] };
  for (let i = 0; i < options.repetitions; i++) {
    let mine: number;
    let theirs: number;
    if (i % 2 === 0) {
      mine = iperfWithoutFragments(ours, options.seconds);
      theirs = iperfWithoutFragments(reference, options.seconds);
    } else {
      theirs = iperfWithoutFragments(reference, options.seconds);
      mine = iperfWithoutFragments(ours, options.seconds);
    }
    samples.ours.push(mine);
    samples.reference.push(theirs);
    samples.ratios.push(mine / theirs);
  }
  console.log(`${ours.label}: ratios of back-to-back runs ${samples.ratios.map((r) => r.toFixed(2)).join(" ")}`);
  return { tscni: median(samples.ours), reference: median(samples.reference), ratio: median(samples.ratios) };
}

export async function benchmarkThroughput(options: ThroughputOptions): Promise<Figure[]> {
  const clusters: PodCluster[] = [];
  const servers: ChildProcess[] = [];
  const cleanUp = () => {
    for (const server of servers) {
      if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, "SIGKILL");
    }
    for (const cluster of clusters.splice(0)) cluster.destroy();
  };
  const forget = onInterrupt(cleanUp);
  try {
    const ours = await productCluster();
    clusters.push(ours);
    const reference = await handMadeCluster();
    clusters.push(reference);
    for (const cluster of clusters) {
      await startServer(cluster.acrossNodes, servers);
      await startServer(cluster.onOneNode, servers);
    }
    console.log(
      `\niperf3: medians of ${options.repetitions} runs of ${options.seconds} s a side, alternating; ` +
        "the ratio is the median of the ratios of back-to-back runs",
    );
    const across = compare(ours.acrossNodes, reference.acrossNodes, options);
    const oneNode = compare(ours.onOneNode, reference.onOneNode, options);
    console.log(`path MTUs: tscni ${ours.mtus}; by hand ${reference.mtus}; no IP fragments in any namespace`);
    const target = { kind: "ratio at least", value: 0.97 } as const;
    return [
      { name: "iperf3 TCP pod to pod, across nodes", unit: "Gbit/s", ...across, target },
      { name: "iperf3 TCP pod to pod, on one node", unit: "Gbit/s", ...oneNode, target },
    ];
  } finally {
    forget();
    cleanUp();
  }
}

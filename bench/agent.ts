// make bench, node agent: programming 1000 peers against iproute2 batches doing the same kernel work,
// the delay from a lease written in etcd to its route in the kernel, the agent's memory, and pod to
// pod TCP throughput against the same topology wired by hand. Everything runs inside namespaces made
// here (test/helpers), and is removed at the end, on failure, and on Ctrl-C.
//
//   tsx bench/agent.ts      (make bench runs it; BENCH_AGENT_* tune it, see below)

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

import { deleteAllTestNetns } from "../test/helpers/netns";
import { removeInstalledSuite } from "../test/helpers/suite";
import { benchmarkEtcdAgent } from "./agent/etcd-agent";
import { onInterrupt } from "./agent/interrupt";
import { benchmarkProgramming } from "./agent/programming";
import { printFigures } from "./agent/report";
import { benchmarkThroughput } from "./agent/throughput";

const ROOT = resolve(import.meta.dirname, "..");
const setting = (name: string, fallback: number): number => Number(process.env[`BENCH_AGENT_${name}`] ?? fallback);
/** Peers programmed (section 1) and leases in etcd (section 2). */
const PEERS = setting("PEERS", 1000);
/** Repetitions of each side of the programming comparison. */
const PROGRAM_REPS = setting("PROGRAM_REPS", 7);
/** Leases written one at a time for the latency figure, at first and at PEERS peers. */
const LATENCY_LEASES = setting("LATENCY_LEASES", 50);
/** Idle seconds before the agents' memory is read again. */
const SETTLE_SECONDS = setting("SETTLE_SECONDS", 10);
const IPERF_SECONDS = setting("IPERF_SECONDS", 2);
const IPERF_REPS = setting("IPERF_REPS", 10);

async function main(): Promise<void> {
  mkdirSync(join(ROOT, "build"), { recursive: true });
  const work = mkdtempSync(join(ROOT, "build", "bench-agent-"));
  const cleanUp = () => {
    deleteAllTestNetns();
    removeInstalledSuite();
    rmSync(work, { recursive: true, force: true });
  };
  const forget = onInterrupt(cleanUp);
  try {
    const figures = [
      ...(await benchmarkProgramming({ peers: PEERS, repetitions: PROGRAM_REPS, work })),
      ...(await benchmarkEtcdAgent({ latencyLeases: LATENCY_LEASES, peers: PEERS, settleSeconds: SETTLE_SECONDS })),
      ...(await benchmarkThroughput({ seconds: IPERF_SECONDS, repetitions: IPERF_REPS })),
    ];
    const met = printFigures("Node agent (tscni agent, compiled) against hand-made references", figures);
    process.exitCode = met ? 0 : 1;
  } finally {
    forget();
    cleanUp();
  }
}

await main();

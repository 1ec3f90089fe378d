// make bench, node agent: programming peers, lease-to-route latency through etcd, memory at 1000
// peers, and overlay throughput, each against a reference made by hand with iproute2.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

import { deleteAllTestNetns } from "../test/helpers/netns";
import { benchmarkEtcdAgent } from "./agent/etcd-agent";
import { benchmarkProgramming } from "./agent/programming";
import { printFigures } from "./agent/report";

const ROOT = resolve(import.meta.dirname, "..");
const PEERS = Number(process.env["BENCH_AGENT_PEERS"] ?? 1000);
const LATENCY_LEASES = Number(process.env["BENCH_AGENT_LATENCY_LEASES"] ?? 50);
const SETTLE_SECONDS = Number(process.env["BENCH_AGENT_SETTLE_SECONDS"] ?? 10);
const REPETITIONS = Number(process.env["BENCH_AGENT_REPS"] ?? 7);

async function main(): Promise<void> {
  mkdirSync(join(ROOT, "build"), { recursive: true });
  const work = mkdtempSync(join(ROOT, "build", "bench-agent-"));
  try {
    const figures = [
      ...(await benchmarkProgramming({ peers: PEERS, repetitions: REPETITIONS, work })),
      ...(await benchmarkEtcdAgent({ latencyLeases: LATENCY_LEASES, peers: PEERS, settleSeconds: SETTLE_SECONDS })),
    ];
    const met = printFigures("Node agent", figures);
    process.exitCode = met ? 0 : 1;
  } finally {
    deleteAllTestNetns();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

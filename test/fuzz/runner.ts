// The fuzz runner: cases spread over parallel workers (worker.ts), each in its own Workspace, and
// the figures of the run. Cases whose outcome assumes a kernel feature this kernel lacks (VLAN
// filtering on some minimal VM kernels) are skipped and counted as such.

import { availableParallelism } from "node:os";

import type { FuzzCase } from "./fuzz-case";
import { count, type RunOptions, type RunReport } from "./report";
import { TestNetns } from "../helpers/netns";
import { Worker } from "./worker";

/** The kernel features cases may need, probed in a namespace of our own. */
function kernelFeatures(): Set<string> {
  const ns = TestNetns.create("fzprobe");
  try {
    const features = new Set<string>();
    if (ns.exec("ip", ["link", "add", "fzprobe0", "type", "bridge", "vlan_filtering", "1"]).status === 0) {
      features.add("vlan_filtering");
    }
    return features;
  } finally {
    ns.delete();
  }
}

export async function runFuzz(cases: readonly FuzzCase[], options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const report: RunReport = {
    cases: cases.length,
    byPlugin: new Map(),
    byFamily: new Map(),
    byExpected: new Map(),
    byObserved: new Map(),
    skipped: new Map(),
    failures: [],
    durationMs: 0,
    slowestMs: 0,
    invocations: 0,
  };
  const features = kernelFeatures();
  const runnable = cases.filter((fuzzCase) => {
    const missing = (fuzzCase.requires ?? []).filter((feature) => !features.has(feature));
    for (const feature of missing) count(report.skipped, feature);
    return missing.length === 0;
  });
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), runnable.length));
  let done = cases.length - runnable.length;
  const workers = Array.from({ length: workerCount }, (_, w) => {
    const mine = runnable.filter((_, i) => i % workerCount === w);
    return new Worker(`w${w}`, options, report).run(mine, () => options.onCaseDone?.(++done));
  });
  await Promise.all(workers);
  report.durationMs = performance.now() - started;
  return report;
}

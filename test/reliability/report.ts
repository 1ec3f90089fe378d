// The figures of a reliability run, as `make reliability` prints them: what was held (operations,
// faults by moment), what it took (DEL attempts), and what was left behind, which must be nothing.

import type { FaultReport, Trial } from "./faults";
import { median } from "./faults";
import { countByKind, type Leftover, type LeftoverKind, LEFTOVER_KINDS } from "./leftovers";
import type { SoakReport } from "./soak";

/** Problems that make the run fail, one line each; empty when it passed. */
export function faultProblems(report: FaultReport): string[] {
  const trialProblems = report.trials.flatMap((trial) => [
    ...trial.failures.map((failure) => `${describeTrial(trial)}: ${failure}`),
    ...(trial.delAttempts === 0 ? [`${describeTrial(trial)}: DEL failed three times`] : []),
    ...trial.afterGc.map((item) => `${describeTrial(trial)}: left ${item.kind} ${item.what}`),
  ]);
  return [
    ...trialProblems,
    ...report.failures,
    ...report.finalLeftovers.map((item) => `at the end: left ${item.kind} ${item.what}`),
  ];
}

export function soakProblems(report: SoakReport): string[] {
  return [
    ...report.failures.map((failure) => `soak ${failure.verb} on ${failure.chain} failed: ${failure.message}`),
    ...report.duplicates.map((duplicate) => `soak duplicate address ${duplicate}`),
    ...report.leftovers.map((item) => `soak left ${item.kind} ${item.what}`),
  ];
}

export function formatFaultFigures(report: FaultReport, seed: number): string {
  const trials = report.trials;
  const killed = trials.filter((t) => t.run.outcome === "killed");
  const lines = [
    `Fault injection (seed ${seed}): ${trials.length} trials, ${killed.length} plugins SIGKILLed mid-operation, ` +
      `${trials.length - killed.length} finished before the kill`,
  ];
  for (const calibration of report.calibrations) {
    const chainTrials = trials.filter((t) => t.chain === calibration.chain);
    lines.push(
      `  ${calibration.chain}: normal ADD ${median(calibration.addMs).toFixed(0)} ms, DEL ${median(calibration.delMs).toFixed(0)} ms; ` +
        `${count(chainTrials, "ADD")} ADD and ${count(chainTrials, "DEL")} DEL trials`,
    );
  }
  const moments = new Map<string, number>();
  for (const trial of trials.filter((t) => t.verb === "ADD" && t.moment !== "uniform")) {
    moments.set(trial.moment, (moments.get(trial.moment) ?? 0) + 1);
  }
  lines.push(`  ADD killed at fixed points: ${[...moments].map(([moment, n]) => `${moment} ${n}`).join(", ")}`);
  for (const verb of ["ADD", "DEL"] as const) {
    const uniform = trials.filter((t) => t.verb === verb && t.moment === "uniform");
    lines.push(`  ${verb} at uniform delays (${uniform.length}), by share of a normal ${verb}: ${histogram(uniform)}`);
  }
  lines.push(`  orphaned firewall tools waited for: ${trials.reduce((sum, t) => sum + t.run.orphans, 0)}`);
  const attempts = [1, 2, 3].map((n) => `${n}: ${trials.filter((t) => t.delAttempts === n).length}`);
  lines.push(
    `  DEL attempts the runtime needed after a kill: ${attempts.join(", ")}, failed: ${trials.filter((t) => t.delAttempts === 0).length}`,
  );
  const gcWork = trials.flatMap((t) => t.afterDel);
  lines.push(`  left by DEL alone, for GC: ${gcWork.length === 0 ? "nothing" : formatCounts(gcWork)}`);
  lines.push(`  left behind after DEL and GC: ${formatCounts(trials.flatMap((t) => t.afterGc))}`);
  lines.push(`  left behind once every chain was emptied: ${formatCounts(report.finalLeftovers)}`);
  return lines.join("\n");
}

export function formatSoakFigures(report: SoakReport): string {
  const ops = report.operations;
  const total = Object.values(ops).reduce((sum, n) => sum + n, 0);
  return [
    `Soak (seed ${report.plan.seed}): ${total} operations through libcni, ${report.plan.inFlight} in flight, ` +
      `${(report.durationMs / 1000).toFixed(0)} s, up to ${report.peakAttached} pods attached at once`,
    `  ${report.chains.join(" and ")}`,
    `  ADD ${ops.ADD}, CHECK ${ops.CHECK}, DEL ${ops.DEL}, DEL after the netns was gone ${ops["DEL (netns gone)"]}`,
    `  failures ${report.failures.length}, duplicate addresses ${report.duplicates.length}`,
    `  left behind: ${formatCounts(report.leftovers)}`,
  ].join("\n");
}

const count = (trials: readonly Trial[], verb: "ADD" | "DEL") => trials.filter((t) => t.verb === verb).length;

/** Counts in tenths of a normal run's duration, the last bin holding the runs that finished first. */
function histogram(trials: readonly Trial[]): string {
  const bins = Array.from({ length: 11 }, () => 0);
  for (const trial of trials) {
    const bin = trial.run.outcome === "completed" ? 10 : Math.min(9, Math.floor(trial.share * 10));
    bins[bin] = (bins[bin] ?? 0) + 1;
  }
  const labels = bins.map((n, i) => (i < 10 ? `${i * 10}-${i * 10 + 10}% ${n}` : `finished first ${n}`));
  return labels.join(", ");
}

const PLURAL: Readonly<Record<LeftoverKind, string>> = {
  reservation: "reservations",
  "partial file": "partial files",
  veth: "veths",
  "masquerade rule": "masquerade rules",
  "saved delegate config": "saved delegate configs",
  "cache entry": "cache entries",
  "lock held": "locks held",
  "pod interface": "pod interfaces",
};

function formatCounts(items: readonly Leftover[]): string {
  const counts = countByKind(items);
  return LEFTOVER_KINDS.map((kind) => `${PLURAL[kind]} ${counts[kind]}`).join(", ");
}

function describeTrial(trial: Trial): string {
  return `${trial.chain} ${trial.verb} killed ${trial.moment} at ${trial.run.atMs.toFixed(1)} ms`;
}

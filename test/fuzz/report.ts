// A run's report: the options, the failures and the figures make fuzz prints.

import type { FuzzCase } from "./fuzz-case";

export interface RunOptions {
  /** The directory holding the installed suite (a link per plugin). */
  readonly suiteDir: string;
  /** Where workspaces go (under build/). */
  readonly scratchDir: string;
  readonly workers?: number;
  readonly timeBoundMs?: number;
  readonly batchSize?: number;
  readonly onCaseDone?: (done: number) => void;
}

export interface Failure {
  readonly id: string;
  readonly fuzzCase: FuzzCase;
  readonly summary: string;
  readonly problem: string;
}

export interface RunReport {
  readonly cases: number;
  readonly byPlugin: Map<string, number>;
  readonly byFamily: Map<string, number>;
  readonly byExpected: Map<string, number>;
  readonly byObserved: Map<string, number>;
  /** Cases skipped, by the kernel feature they needed. */
  readonly skipped: Map<string, number>;
  readonly failures: Failure[];
  durationMs: number;
  /** The slowest single plugin invocation. */
  slowestMs: number;
  invocations: number;
}

export const count = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1);
};

const table = (title: string, map: ReadonlyMap<string, number>): string =>
  [`${title}:`, ...[...map].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `  ${key.padEnd(24)} ${n}`)].join(
    "\n",
  );

export function formatFigures(report: RunReport, header: string): string {
  const seconds = report.durationMs / 1000;
  return [
    header,
    `cases: ${report.cases} in ${seconds.toFixed(1)} s (${(report.cases / seconds).toFixed(0)} cases/s), ${report.invocations} plugin invocations, slowest ${Math.round(report.slowestMs)} ms`,
    table("cases per plugin", report.byPlugin),
    table("cases per mutation family", report.byFamily),
    table("expected outcome classes", report.byExpected),
    table("observed outcomes", report.byObserved),
    ...(report.skipped.size > 0 ? [table("skipped, for lack of a kernel feature", report.skipped)] : []),
    `failures: ${report.failures.length} (changes left on a host: ${hostChanges(report)}, crashes: ${observed(report, "crash")}, ` +
      `hangs: ${observed(report, "hang")}, malformed error replies: ${observed(report, "malformed error")})`,
  ].join("\n");
}

const observed = (report: RunReport, outcome: string): number => report.byObserved.get(outcome) ?? 0;

/** Failures of "nothing changed on the host" (worker.ts words them so). */
function hostChanges(report: RunReport): number {
  return report.failures.filter((f) => f.problem.startsWith("changed the host") || f.problem.startsWith("the batch"))
    .length;
}

export function formatFailures(report: RunReport, limit = 50): string {
  return report.failures
    .slice(0, limit)
    .map((failure) => `- ${failure.summary}\n  ${failure.problem.replaceAll("\n", "\n  ")}`)
    .join("\n");
}

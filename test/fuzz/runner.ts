// The fuzz runner: cases spread over parallel workers, each in its own Workspace. A case's reply is
// judged at once (execute.ts). "Nothing changed on the host" is checked in batches: a snapshot
// after every `batchSize` failing cases, compared with the last one; on a difference the workspace
// is rebuilt and the batch replayed case by case to find the ones that changed something. A case
// that should succeed runs its whole life cycle (ADD, CHECK, DEL, DEL) between two snapshots.

import { Buffer } from "node:buffer";
import { availableParallelism } from "node:os";
import { join } from "node:path";

import { caseId, type FuzzCase, outcomeClass, type TokenValues, TOKENS } from "./fuzz-case";
import { describeCase } from "./generator";
import { invoke, judge, type Reply } from "./execute";
import { compareSnapshots, describeDifferences, hostLocalLeftovers, type Snapshot, takeSnapshot } from "./snapshot";
import { Workspace } from "./workspace";
import { checkNotRootNetns, lifecycle } from "./lifecycle";

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
  readonly failures: Failure[];
  readonly durationMs: number;
  /** The slowest single plugin invocation. */
  slowestMs: number;
  invocations: number;
}

const count = (map: Map<string, number>, key: string): void => {
  map.set(key, (map.get(key) ?? 0) + 1);
};

/** Token placeholders replaced with the worker's paths, in env values and in stdin. */
export function substitute(
  fuzzCase: FuzzCase,
  values: TokenValues,
): { env: Record<string, string>; stdin: Uint8Array } {
  const pairs = Object.entries(TOKENS).map(([key, token]) => [token, values[key as keyof TokenValues]] as const);
  const replaceText = (text: string): string =>
    pairs.reduce((out, [token, value]) => out.replaceAll(token, value), text);
  const env = Object.fromEntries(Object.entries(fuzzCase.env).map(([key, value]) => [key, replaceText(value)]));
  let stdin: Buffer = Buffer.from(fuzzCase.stdin);
  for (const [token, value] of pairs) stdin = replaceBytes(stdin, Buffer.from(token), Buffer.from(value));
  return { env, stdin: new Uint8Array(stdin) };
}

function replaceBytes(haystack: Buffer, needle: Buffer, replacement: Buffer): Buffer {
  // A split-and-join on bytes: stdin may be anything but UTF-8.
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = haystack.indexOf(needle, from); at !== -1; at = haystack.indexOf(needle, from)) {
    parts.push(haystack.subarray(from, at), replacement);
    from = at + needle.length;
  }
  if (from === 0) return haystack;
  parts.push(haystack.subarray(from));
  return Buffer.concat(parts);
}

export async function runFuzz(cases: readonly FuzzCase[], options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const report: RunReport = {
    cases: cases.length,
    byPlugin: new Map(),
    byFamily: new Map(),
    byExpected: new Map(),
    byObserved: new Map(),
    failures: [],
    durationMs: 0,
    slowestMs: 0,
    invocations: 0,
  };
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), cases.length));
  let done = 0;
  const workers = Array.from({ length: workerCount }, (_, w) => {
    const mine = cases.filter((_, i) => i % workerCount === w);
    return new Worker(`w${w}`, options, report).run(mine, () => options.onCaseDone?.(++done));
  });
  await Promise.all(workers);
  return { ...report, durationMs: performance.now() - started };
}

/** Cases that may succeed run their life cycle, and may leave host-local's persistent files behind. */
const maySucceed = (fuzzCase: FuzzCase): boolean =>
  fuzzCase.expect.kind === "success" || fuzzCase.expect.kind === "either";

class Worker {
  private readonly workspace: Workspace;
  private readonly options: RunOptions;
  private readonly report: RunReport;
  private baseline: Snapshot = new Map();

  constructor(label: string, options: RunOptions, report: RunReport) {
    this.workspace = new Workspace(options.scratchDir, label);
    this.options = options;
    this.report = report;
  }

  /**
   * Failing cases first, in batches held to "nothing changed at all"; then the cases that may
   * succeed, in batches that may leave only host-local's directories, locks and markers. Case
   * order does not matter: every case starts from the same valid state.
   */
  async run(cases: readonly FuzzCase[], caseDone: () => void): Promise<void> {
    await this.rebuild();
    try {
      const size = this.options.batchSize ?? 25;
      for (const group of [cases.filter((c) => !maySucceed(c)), cases.filter(maySucceed)]) {
        for (let i = 0; i < group.length; i += size) {
          const batch = group.slice(i, i + size);
          for (const fuzzCase of batch) {
            await this.runCase(fuzzCase, true);
            caseDone();
          }
          await this.checkBatch(batch);
        }
      }
    } finally {
      this.workspace.dispose();
    }
  }

  private fail(fuzzCase: FuzzCase, problem: string, reply?: Reply): void {
    const output =
      reply === undefined
        ? ""
        : `\n  exit ${reply.status ?? reply.signal}, ${Math.round(reply.durationMs)} ms\n  stdout: ${reply.stdout.slice(0, 500)}\n  stderr: ${reply.stderr.slice(0, 500)}`;
    this.report.failures.push({
      id: caseId(fuzzCase),
      fuzzCase,
      summary: describeCase(fuzzCase),
      problem: problem + output,
    });
  }

  /** Runs one invocation of `fuzzCase` in the worker's host namespace. */
  private async execute(fuzzCase: FuzzCase, env: Record<string, string>, stdin: Uint8Array): Promise<Reply> {
    checkNotRootNetns(env["CNI_NETNS"]);
    const reply = await invoke({
      plugin: join(this.options.suiteDir, fuzzCase.plugin),
      hostNetns: this.workspace.host.name,
      env,
      stdin,
      cwd: this.workspace.cwd,
      ioDir: this.workspace.ioDir,
      timeBoundMs: this.options.timeBoundMs ?? 5000,
    });
    this.report.invocations++;
    this.report.slowestMs = Math.max(this.report.slowestMs, reply.durationMs);
    return reply;
  }

  /** Runs a case and, after a successful ADD, the rest of its life cycle; `record` judges and counts. */
  private async runCase(fuzzCase: FuzzCase, record: boolean): Promise<void> {
    const { env, stdin } = substitute(fuzzCase, this.workspace.tokens(this.options.suiteDir));
    const reply = await this.execute(fuzzCase, env, stdin);
    const command = env["CNI_COMMAND"];
    if (record) {
      count(this.report.byPlugin, fuzzCase.plugin);
      count(this.report.byFamily, fuzzCase.family);
      count(this.report.byExpected, outcomeClass(fuzzCase.expect));
      const verdict = judge(reply, fuzzCase.expect, command === "ADD");
      count(this.report.byObserved, verdict.observed);
      if (verdict.problem !== undefined) this.fail(fuzzCase, verdict.problem, reply);
    }
    if (maySucceed(fuzzCase) && reply.status === 0 && command === "ADD") {
      const problem = await lifecycle(reply.stdout, env, stdin, (e, s) => this.execute(fuzzCase, e, s));
      if (record && problem !== undefined) this.fail(fuzzCase, problem);
    }
  }

  private async rebuild(): Promise<void> {
    this.workspace.reset();
    this.baseline = await takeSnapshot(this.workspace);
  }

  /** Compares with the baseline after a batch; on a difference replays it case by case to find the culprits. */
  private async checkBatch(batch: readonly FuzzCase[]): Promise<void> {
    const allowed = (fuzzCase: FuzzCase) => (maySucceed(fuzzCase) ? hostLocalLeftovers : () => false);
    const after = await takeSnapshot(this.workspace);
    const differences = compareSnapshots(this.baseline, after, allowed(batch[0]!));
    if (differences.length === 0) {
      this.baseline = after;
      return;
    }
    let found = false;
    for (const fuzzCase of batch) {
      await this.rebuild();
      await this.runCase(fuzzCase, false);
      const own = compareSnapshots(this.baseline, await takeSnapshot(this.workspace), allowed(fuzzCase));
      if (own.length > 0) {
        found = true;
        const when = maySucceed(fuzzCase) ? "after its life cycle" : "although it failed";
        this.fail(fuzzCase, `changed the host ${when}:\n${describeDifferences(own)}`);
      }
    }
    if (!found) {
      this.fail(
        batch[0]!,
        `the batch ${batch.map(caseId).join(" ")} changed the host, no single case of it alone does:\n${describeDifferences(differences)}`,
      );
    }
    await this.rebuild();
  }
}

// One fuzz worker: its cases, one after the other, in its own Workspace. A case's reply is judged
// at once (execute.ts); a case that may succeed and does runs the rest of its life cycle
// (lifecycle.ts). "Nothing changed on the host" is checked in batches: cases are grouped by plugin
// and by whether they may succeed, since each group has its own documented leftovers, and a
// snapshot after every `batchSize` cases of a group is compared with the one before. On a
// difference the workspace is rebuilt and the batch replayed case by case to find the culprits.
// Case order does not matter: every case starts from the same valid state.

import { Buffer } from "node:buffer";
import { join } from "node:path";

import { invoke, judge, type Reply } from "./execute";
import { caseId, type FuzzCase, outcomeClass, type TokenValues, TOKENS } from "./fuzz-case";
import { describeCase, MODELS } from "./generator";
import { checkNotRootNetns, lifecycle } from "./lifecycle";
import { count, type RunOptions, type RunReport } from "./report";
import {
  compareSnapshots,
  describeDifferences,
  type Leftovers,
  nothingLeft,
  type Snapshot,
  takeSnapshot,
} from "./snapshot";
import { Workspace } from "./workspace";

const maySucceed = (fuzzCase: FuzzCase): boolean =>
  fuzzCase.expect.kind === "success" || fuzzCase.expect.kind === "either";

const modelOf = (fuzzCase: FuzzCase) => MODELS.find((model) => model.name === fuzzCase.plugin);

/** What the case's plugin may leave behind, after a failure or a life cycle. */
function leftoversOf(fuzzCase: FuzzCase): Leftovers {
  const leftovers = modelOf(fuzzCase)?.leftovers;
  return (maySucceed(fuzzCase) ? leftovers?.afterSuccess : leftovers?.afterFailure) ?? nothingLeft;
}

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

/** A split-and-join on bytes: stdin may be anything but UTF-8. */
function replaceBytes(haystack: Buffer, needle: Buffer, replacement: Buffer): Buffer {
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

export class Worker {
  private readonly workspace: Workspace;
  private readonly options: RunOptions;
  private readonly report: RunReport;
  private baseline: Snapshot = new Set();

  constructor(label: string, options: RunOptions, report: RunReport) {
    this.workspace = new Workspace(options.scratchDir, label);
    this.options = options;
    this.report = report;
  }

  async run(cases: readonly FuzzCase[], caseDone: () => void): Promise<void> {
    const groups = new Map<string, FuzzCase[]>();
    for (const fuzzCase of cases) {
      const key = `${fuzzCase.plugin} ${maySucceed(fuzzCase)}`;
      groups.set(key, [...(groups.get(key) ?? []), fuzzCase]);
    }
    await this.rebuild();
    try {
      const size = this.options.batchSize ?? 25;
      for (const group of groups.values()) {
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
      timeBoundMs: this.options.timeBoundMs ?? 10_000,
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
      if (modelOf(fuzzCase)?.sharesLinks === true) this.workspace.removeSharedLinks();
    }
  }

  private async rebuild(): Promise<void> {
    this.workspace.reset();
    this.baseline = await takeSnapshot(this.workspace);
  }

  /** Compares with the baseline after a batch; on a difference replays it case by case to find the culprits. */
  private async checkBatch(batch: readonly FuzzCase[]): Promise<void> {
    const leftovers = leftoversOf(batch[0]!);
    const after = await takeSnapshot(this.workspace);
    const differences = compareSnapshots(this.baseline, after, leftovers);
    if (differences.length === 0) {
      this.baseline = after;
      return;
    }
    let found = false;
    for (const fuzzCase of batch) {
      await this.rebuild();
      await this.runCase(fuzzCase, false);
      const own = compareSnapshots(this.baseline, await takeSnapshot(this.workspace), leftovers);
      if (own.length > 0) {
        found = true;
        const when = maySucceed(fuzzCase) ? "after its life cycle" : "although it failed";
        this.fail(fuzzCase, `changed the host ${when}:\n${describeDifferences(own)}`);
      }
    }
    if (!found) {
      const ids = batch.map(caseId).join(" ");
      this.fail(
        batch[0]!,
        `the batch ${ids} changed the host, no single case of it does:\n${describeDifferences(differences)}`,
      );
    }
    await this.rebuild();
  }
}

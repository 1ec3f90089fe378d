// Running the netfilter tools (iptables-save/-restore, ip6tables-save/-restore, nft). They are
// executed directly with an argument array, never through a shell (cni/spawn.ts, which in the
// binary takes a millisecond where Node's child-process module costs over ten), and act on the
// network namespace the process runs in. Changes always go through the batch forms (`iptables-restore
// --noflush`, `nft -f -`): one process per change set, applied atomically by the kernel.

import type { ProcessOutput } from "../cni/spawn";
import type { IpFamily } from "../native/netlink/ip";

/** How long iptables-restore waits for the xtables lock held by kube-proxy, flannel or a peer. */
export const XTABLES_LOCK_WAIT_SECONDS = 30;
/** A tool still running after this long is killed: a CNI command must not hang forever. */
const TOOL_TIMEOUT_MS = 60_000;

/** A netfilter tool that could not be started or exited with a failure status. */
export class FirewallToolError extends Error {
  readonly tool: string;
  readonly args: readonly string[];
  /** The exit status; undefined when the tool could not be started (see `cause`) or was killed. */
  readonly exitStatus: number | undefined;
  readonly stderr: string;
  /** What was written to the tool's stdin (a restore or nft script), for logs. */
  readonly input: string;

  constructor(
    tool: string,
    args: readonly string[],
    failure: { exitStatus?: number; stderr?: string; input?: string; reason?: string },
    options?: ErrorOptions,
  ) {
    const stderr = failure.stderr ?? "";
    const what = failure.reason ?? `exited with status ${failure.exitStatus ?? "unknown"}`;
    super(`${[tool, ...args].join(" ")} ${what}${stderr.trim() !== "" ? `: ${stderr.trim()}` : ""}`, options);
    this.name = "FirewallToolError";
    this.tool = tool;
    this.args = args;
    this.exitStatus = failure.exitStatus;
    this.stderr = stderr;
    this.input = failure.input ?? "";
  }

  /** The tool is not installed (or not executable): its backend is unavailable here. */
  get notInstalled(): boolean {
    const code = (this.cause as { code?: unknown } | undefined)?.code;
    return code === "ENOENT" || code === "EACCES";
  }
}

/** Runs `tool args...`, optionally feeding `stdin`; resolves with stdout, rejects with FirewallToolError. */
export async function runTool(tool: string, args: readonly string[], stdin = ""): Promise<string> {
  const { runProcess } = await import("../cni/spawn");
  let output: ProcessOutput;
  try {
    output = await runProcess(tool, args, {
      stdin,
      timeoutMs: TOOL_TIMEOUT_MS,
      // The C locale keeps the tools' messages stable for the error parsing below.
      env: { ...process.env, LC_ALL: "C" },
    });
  } catch (error: unknown) {
    throw new FirewallToolError(tool, args, { input: stdin, reason: "could not be run" }, { cause: error });
  }
  if (output.exitCode === 0 && output.signal === undefined) return output.stdout;
  const failure =
    output.signal === undefined ? { exitStatus: output.exitCode } : { reason: `was killed by ${output.signal}` };
  throw new FirewallToolError(tool, args, { ...failure, stderr: output.stderr, input: stdin });
}

export type IptablesTable = "nat" | "filter";

const iptablesPrefix = (family: IpFamily): string => (family === 4 ? "iptables" : "ip6tables");

/** `iptables-save -t <table>` (or ip6tables-save): the table as restore-format text. */
export function iptablesSave(family: IpFamily, table: IptablesTable): Promise<string> {
  return runTool(`${iptablesPrefix(family)}-save`, ["-t", table]);
}

/**
 * Applies a restore script without flushing what it does not mention. Every table section is
 * committed as one transaction; `--wait` queues behind other users of the xtables lock.
 */
export async function iptablesRestore(family: IpFamily, script: string): Promise<void> {
  await runTool(`${iptablesPrefix(family)}-restore`, ["--noflush", `--wait=${XTABLES_LOCK_WAIT_SECONDS}`], script);
}

/** `nft -j list <object...>`: the parsed JSON, or undefined when the object does not exist. */
export async function nftListJson(object: readonly string[]): Promise<unknown> {
  try {
    return JSON.parse(await runTool("nft", ["-j", "list", ...object])) as unknown;
  } catch (error: unknown) {
    if (error instanceof FirewallToolError && isNftNotFound(error)) return undefined;
    throw error;
  }
}

/** Runs an nft script (`nft -f -`): every command in it is one atomic transaction. */
export async function nftApply(script: string): Promise<void> {
  await runTool("nft", ["-f", "-"], script);
}

/** nft's answer for a table or chain that does not exist (as knftables recognises it). */
export function isNftNotFound(error: FirewallToolError): boolean {
  return error.exitStatus !== undefined && /No such file or directory/.test(error.stderr);
}

/** Whether iptables (or ip6tables) can read the kernel's tables here, as the reference checks. */
export async function iptablesWorks(family: IpFamily = 4): Promise<boolean> {
  return succeeds(runTool(`${iptablesPrefix(family)}-save`, ["-t", "filter"]));
}

/** Whether nftables works here: nft is installed and the kernel accepts a (checked, uncommitted) table. */
export async function nftablesWorks(): Promise<boolean> {
  return succeeds(runTool("nft", ["--check", "add", "table", "inet", "tscni_probe"]));
}

export interface AvailableBackends {
  readonly iptables: boolean;
  readonly nftables: boolean;
}

export async function detectBackends(): Promise<AvailableBackends> {
  const [iptables, nftables] = await Promise.all([iptablesWorks(), nftablesWorks()]);
  return { iptables, nftables };
}

async function succeeds(run: Promise<unknown>): Promise<boolean> {
  try {
    await run;
    return true;
  } catch (error: unknown) {
    if (error instanceof FirewallToolError) return false;
    throw error;
  }
}

/**
 * Waits for every step (none is left running when one fails) and reports the failures: the one
 * error itself, or an AggregateError naming each.
 */
export async function settleAll(steps: readonly Promise<void>[]): Promise<void> {
  const outcomes = await Promise.allSettled(steps);
  const failures = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, failures.map(String).join("; "));
}

/**
 * Runs a read-modify-write step again when its write is rejected, which happens when another
 * process (a concurrent ADD/DEL) changed the same rules between our read and our write.
 */
export async function withConflictRetries<T>(step: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error: unknown) {
      const retriable = error instanceof FirewallToolError && error.exitStatus !== undefined;
      if (!retriable || attempt >= attempts) throw error;
    }
  }
}

/**
 * Runs a clean-up step of one backend. If it fails and the backend does not work here at all
 * (tool missing, kernel without support, IPv6 disabled), there was nothing of it to clean up and
 * the failure is dropped; a working backend's failure is reported.
 */
export async function cleanUpUnlessUnavailable(
  step: () => Promise<void>,
  works: () => Promise<boolean>,
): Promise<void> {
  try {
    await step();
  } catch (error: unknown) {
    if (await works()) throw error;
  }
}

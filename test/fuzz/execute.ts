// Running one plugin invocation as a runtime does (inside the worker's host namespace, stdin from a
// file, only the case's variables plus PATH) under a time bound, and judging its reply: the exit
// status, stdout holding exactly one CNI error JSON (or a result, or nothing), no signal.

import { spawn } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Outcome } from "./fuzz-case";

export interface Invocation {
  /** The plugin's path (a link to the binary under test). */
  readonly plugin: string;
  readonly hostNetns: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array;
  readonly cwd: string;
  /** Where the stdin file is written. */
  readonly ioDir: string;
  readonly timeBoundMs: number;
}

export interface Reply {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

const OUTPUT_CAP = 4 * 1024 * 1024;

/**
 * A safety net under the generator: the plugin runs in a private mount namespace with a fresh tmpfs
 * over /var/lib, so that a case that lost its data dir cannot reach the node's default
 * /var/lib/cni/networks (or flannel's /var/lib/cni/flannel). A fixed script; the command comes as
 * arguments. `sh` and `ip` exec, so the PID stays the plugin's.
 */
const PRIVATE_VAR_LIB = 'mount -t tmpfs -o mode=0755 tmpfs /var/lib && exec "$@"';

export async function invoke(invocation: Invocation): Promise<Reply> {
  const stdinPath = join(invocation.ioDir, "stdin");
  writeFileSync(stdinPath, invocation.stdin);
  const stdinFd = openSync(stdinPath, "r");
  const started = performance.now();
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const command = [
        "sh",
        "-c",
        PRIVATE_VAR_LIB,
        "sh",
        "ip",
        "netns",
        "exec",
        invocation.hostNetns,
        invocation.plugin,
      ];
      const child = spawn("unshare", ["--mount", "--propagation", "private", ...command], {
        env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...invocation.env },
        cwd: invocation.cwd,
        stdio: [stdinFd, "pipe", "pipe"],
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size <= OUTPUT_CAP) into.push(chunk);
      };
      child.stdout!.on("data", collect(stdout));
      child.stderr!.on("data", collect(stderr));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      }, invocation.timeBoundMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("close", (status, signal) => {
        clearTimeout(timer);
        resolve({
          status,
          signal,
          timedOut,
          durationMs: performance.now() - started,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      });
    });
  } finally {
    closeSync(stdinFd);
  }
}

const ERROR_KEYS = ["cniVersion", "code", "msg", "details"];

/** The error JSON on stdout, or why stdout is not exactly one. */
export function parseErrorReply(stdout: string): { code: number } | string {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return `stdout is not one JSON value: ${JSON.stringify(stdout.slice(0, 300))}`;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "stdout is not a JSON object";
  const reply = json as Record<string, unknown>;
  const extra = Object.keys(reply).filter((key) => !ERROR_KEYS.includes(key));
  if (extra.length > 0) return `error JSON has other keys: ${extra.join(", ")}`;
  if (typeof reply["cniVersion"] !== "string" || reply["cniVersion"] === "") return "error JSON without cniVersion";
  if (!Number.isInteger(reply["code"])) return "error JSON without an integer code";
  if (typeof reply["msg"] !== "string" || reply["msg"] === "") return "error JSON without msg";
  if (reply["details"] !== undefined && typeof reply["details"] !== "string") return "error JSON details not a string";
  return { code: reply["code"] as number };
}

/** How a reply was judged: what was observed ("error 7", "success") and any problem with it. */
export interface Verdict {
  readonly observed: string;
  readonly problem?: string;
}

/** Judges one reply against the expected outcome; `isAdd` asks for a result on success. */
export function judge(reply: Reply, expected: Outcome, isAdd: boolean): Verdict {
  if (reply.timedOut) return { observed: "hang", problem: `no answer within ${Math.round(reply.durationMs)} ms` };
  if (reply.signal !== null) return { observed: "crash", problem: `killed by ${reply.signal}` };
  if (reply.status === 0) return judgeSuccess(reply, expected, isAdd);
  const parsed = parseErrorReply(reply.stdout);
  if (typeof parsed === "string") return { observed: "malformed error", problem: parsed };
  const observed = `error ${parsed.code}`;
  if (expected.kind === "error" || expected.kind === "either") {
    return expected.codes.includes(parsed.code)
      ? { observed }
      : { observed, problem: `code ${parsed.code}, expected ${expected.codes.join(" or ")}` };
  }
  return { observed, problem: `failed with code ${parsed.code}, expected ${expected.kind}` };
}

function judgeSuccess(reply: Reply, expected: Outcome, isAdd: boolean): Verdict {
  const stdout = reply.stdout.trim();
  switch (expected.kind) {
    case "error":
      return { observed: "success", problem: `succeeded, expected code ${expected.codes.join(" or ")}` };
    case "about":
      return stdout === ""
        ? { observed: "about" }
        : { observed: "about", problem: "stdout not empty without CNI_COMMAND" };
    case "version": {
      const info = safeParse(stdout) as { supportedVersions?: unknown } | undefined;
      return Array.isArray(info?.supportedVersions)
        ? { observed: "version" }
        : { observed: "version", problem: "no version info" };
    }
    case "success":
    case "either":
      if (isAdd) {
        const result = safeParse(stdout) as { cniVersion?: unknown } | undefined;
        return typeof result?.cniVersion === "string"
          ? { observed: "success" }
          : { observed: "success", problem: "ADD printed no result" };
      }
      return stdout === ""
        ? { observed: "success" }
        : { observed: "success", problem: `stdout not empty: ${stdout.slice(0, 200)}` };
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

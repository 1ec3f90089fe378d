// Invoking a plugin binary the way a runtime does: CNI_* variables, the config on stdin, inside
// the test's "host" namespace. Only the variables given are set (plus PATH), like a kubelet's
// minimal environment.

import { closeSync, openSync } from "node:fs";

import { run } from "./run";
import type { TestNetns } from "./netns";

export interface PluginCall {
  readonly plugin: string;
  readonly command: string;
  readonly config?: unknown;
  /** Raw stdin, used instead of `config` when set (malformed-input tests). */
  readonly stdin?: string | Buffer;
  /** A file to use as stdin instead (a regular file, not a pipe). */
  readonly stdinFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** The namespace standing in for the node; the plugin runs inside it. */
  readonly host?: TestNetns;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

export interface PluginReply {
  readonly status: number | null;
  /** The signal that ended the plugin (null when it exited). */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON, or undefined when it is empty. */
  readonly json: Record<string, unknown> | undefined;
}

export function callPlugin(call: PluginCall): PluginReply {
  const env = { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", CNI_COMMAND: call.command, ...call.env };
  const input = call.stdin ?? (call.config === undefined ? "" : JSON.stringify(call.config));
  const command = call.host === undefined ? call.plugin : "ip";
  const args = call.host === undefined ? [] : ["netns", "exec", call.host.name, call.plugin];
  const stdinFd = call.stdinFile === undefined ? undefined : openSync(call.stdinFile, "r");
  let result;
  try {
    result = run(command, args, {
      env,
      timeout: call.timeoutMs ?? 20_000,
      ...(stdinFd === undefined ? { input } : { stdio: [stdinFd, "pipe", "pipe"] }),
      ...(call.cwd !== undefined ? { cwd: call.cwd } : {}),
    });
  } finally {
    if (stdinFd !== undefined) closeSync(stdinFd);
  }
  const trimmed = result.stdout.trim();
  let json: Record<string, unknown> | undefined;
  if (trimmed !== "") {
    try {
      json = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
  }
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, json };
}

/** The attachment variables of one container, for ADD/CHECK/DEL. */
export function attachmentEnv(
  containerId: string,
  netns: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return { CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: "/nonexistent", ...extra };
}

// The plugin skeleton: everything between a runtime and a plugin's commands, so that a plugin only
// writes cmdAdd/cmdCheck/cmdDel (and optionally GC and STATUS).
//
// This module is the front door. The "about" text and VERSION are answered here without loading
// anything else (a runtime runs VERSION on every plugin, often); the commands that do work load
// their path on demand (command.ts). Inputs are injected (Io, the netns probe, the delegate runner)
// so the whole protocol is tested without a process, root or a kernel.

import type { PluginFinder, PluginRunner } from "./invoke";
import type { Io } from "./io";
import type { Plugin } from "./plugin";
import { encodeVersionInfo } from "./version";

/** What a path given as CNI_NETNS turned out to be. */
export type NetnsProbeResult = "netns" | "own-netns" | "not-netns" | "missing";
export type NetnsProbe = (path: string) => Promise<NetnsProbeResult>;

export interface SkelOptions {
  /** The text printed on stderr when CNI_COMMAND is unset. */
  readonly about: string;
  readonly probeNetns: NetnsProbe;
  readonly runner: PluginRunner;
  readonly find: PluginFinder;
}

/** Runs one CNI invocation of `plugin` and returns the process exit status. */
export async function runPlugin(plugin: Plugin, io: Io, options: SkelOptions): Promise<number> {
  const command = io.env["CNI_COMMAND"] ?? "";
  if (command === "") {
    io.stderr(options.about);
    io.stderr(`CNI protocol versions supported: ${plugin.versions.join(", ")}`);
    return 0;
  }
  if (command === "VERSION") {
    io.stdout(encodeVersionInfo(plugin.versions).trimEnd());
    return 0;
  }
  const { runCommand } = await import("./command");
  return runCommand(plugin, io, options, command);
}

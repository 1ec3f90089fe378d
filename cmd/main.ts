// The multi-call dispatcher: the name the binary was invoked as picks the plugin. With CNI_COMMAND
// set (or nothing on the command line) it speaks CNI; otherwise it is a command-line tool.

import { CniError, encodeErrorReply, ErrorCode } from "../cni/errors";
import type { Io } from "../cni/io";
import type { PluginRunner } from "../cni/invoke";
import { runPlugin, type SkelOptions } from "../cni/skel";
import { CURRENT_VERSION } from "../cni/version";
import packageJson from "../package.json" with { type: "json" };
import { inProcessRunner } from "./in-process";
import { BINARY_NAME, PLUGINS } from "./plugins";

export const SUITE_VERSION: string = packageJson.version;

export interface Invocation {
  /** argv[0] as the process received it: its basename names the plugin. */
  readonly argv0: string;
  /** Command-line arguments after argv[0]. */
  readonly args: readonly string[];
  readonly io: Io;
  /**
   * The path of this binary when running as the compiled binary: a delegate that resolves to it
   * runs in-process. Undefined under Node, where every delegate is exec'd.
   */
  readonly selfExecutable: string | undefined;
}

export async function main(invocation: Invocation): Promise<number> {
  const { io } = invocation;
  const name = basename(invocation.argv0);
  const plugin = PLUGINS.get(name);
  const cniMode = (io.env["CNI_COMMAND"] ?? "") !== "";

  if (plugin !== undefined && (cniMode || invocation.args.length === 0)) {
    return runPlugin(plugin, io, skelOptions(name, invocation));
  }
  if (plugin === undefined && cniMode) {
    const error = new CniError(
      ErrorCode.InvalidEnvironment,
      `unknown plugin name ${JSON.stringify(name)}`,
      `${invocation.argv0} is a link to ${BINARY_NAME}, which provides: ${[...PLUGINS.keys()].join(", ")}`,
    );
    io.stderr(`${BINARY_NAME}: ${error.message}; ${error.details}`);
    io.stdout(encodeErrorReply(error, CURRENT_VERSION));
    return 1;
  }
  restoreNormalJitPolicy();
  const { runCli } = await import("./cli");
  return runCli({
    name,
    args: invocation.args,
    io,
    version: SUITE_VERSION,
    selfExecutable: invocation.selfExecutable,
  });
}

function skelOptions(name: string, invocation: Invocation): SkelOptions {
  const exec: PluginRunner = {
    run: async (path, env, stdin) => (await import("../cni/exec")).processRunner.run(path, env, stdin),
  };
  const self = invocation.selfExecutable;
  const dispatch = (argv0: string, io: Io): Promise<number> => main({ ...invocation, argv0, args: [], io });
  return {
    about: `CNI ${name} plugin ${BINARY_NAME} v${SUITE_VERSION}`,
    probeNetns: async (path) => (await import("../native/netns")).probeNetns(path),
    find: async (type, directories) => (await import("../cni/exec")).findInPath(type, directories),
    runner: self === undefined ? exec : inProcessRunner(self, dispatch, exec),
  };
}

/**
 * The compiled binary starts with JIT tier-up held back (`--compile-jit-policy` in the Makefile): a
 * CNI command runs its code once and exits, so compiling it is wasted time. The command line runs
 * the long-lived agent, which wants the normal policy. A no-op under Node.
 */
function restoreNormalJitPolicy(): void {
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?(scale: number): void } } }).Bun?.unsafe?.setJITPolicy?.(1);
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

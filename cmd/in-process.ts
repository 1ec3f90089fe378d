// Delegation without a new process: when the plugin found in CNI_PATH is this very binary (one of
// its links), the delegate runs through the same dispatcher in this process, with exactly what an
// exec would give it (its argv0, the environment with CNI_COMMAND replaced, the stdin bytes) and
// its stdout, stderr and exit status captured as an exec would capture them.

import { BufferedIo, type Env, type Io } from "../cni/io";
import type { PluginOutput, PluginRunner } from "../cni/invoke";

export type Dispatcher = (argv0: string, io: Io) => Promise<number>;

export function inProcessRunner(selfExecutable: string, dispatch: Dispatcher, fallback: PluginRunner): PluginRunner {
  return {
    async run(path: string, env: Env, stdin: Uint8Array): Promise<PluginOutput> {
      if (!(await sameFile(path, selfExecutable))) return fallback.run(path, env, stdin);
      const io = new BufferedIo(env, stdin);
      const exitCode = await dispatch(path, io);
      return { exitCode, stdout: io.stdoutText, stderr: io.errors.join("\n") };
    },
  };
}

/** Same inode after following links: the plugin links and the binary are one file. */
async function sameFile(a: string, b: string): Promise<boolean> {
  const { statSync } = await import("node:fs");
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

// Finding a plugin in CNI_PATH and running it as a child process.

import { statSync } from "node:fs";

import type { Env } from "./io";
import { InvalidPluginNameError, type PluginOutput, type PluginRunner, PluginNotFoundError } from "./invoke";
import { joinPath } from "./path";

/** The first `<dir>/<type>` that is a regular file (after symlinks), as libcni's FindInPath. */
export async function findInPath(type: string, directories: readonly string[]): Promise<string> {
  if (type === "") throw new InvalidPluginNameError("no plugin name provided");
  if (type.includes("/")) throw new InvalidPluginNameError(`invalid plugin name: ${type}`);
  if (directories.length === 0) throw new PluginNotFoundError("no paths provided");
  for (const directory of directories) {
    const path = joinPath(directory, type);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // Not in this directory.
    }
  }
  throw new PluginNotFoundError(`failed to find plugin ${JSON.stringify(type)} in path [${directories.join(" ")}]`);
}

/**
 * A plugin being replaced (e.g. by a DaemonSet installer) fails to exec with ETXTBSY for a moment;
 * libcni retries, and so does this runner, with a short backoff and a bounded total wait.
 */
const TEXT_FILE_BUSY_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1000, 1000, 1000, 1000];

export const processRunner: PluginRunner = {
  async run(path: string, env: Env, stdin: Uint8Array): Promise<PluginOutput> {
    for (const delay of [...TEXT_FILE_BUSY_RETRY_DELAYS_MS, undefined]) {
      try {
        return await spawnPlugin(path, env, stdin);
      } catch (error: unknown) {
        if (delay === undefined || (error as { code?: unknown }).code !== "ETXTBSY") throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    throw new Error("unreachable");
  },
};

async function spawnPlugin(path: string, env: Env, stdin: Uint8Array): Promise<PluginOutput> {
  const { runProcess } = await import("./spawn");
  return runProcess(path, [], { env: definedOnly(env), stdin });
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

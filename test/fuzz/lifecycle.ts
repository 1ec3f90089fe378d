// What the runner does with a case that should succeed (and did): the rest of the runtime's life
// cycle, as libcni drives it. CHECK and DEL get the ADD's result as prevResult (from 0.4.0, when
// libcni caches results); CHECK must pass, DEL must pass, and a second DEL must pass too.

import { statSync } from "node:fs";

import { succeeds } from "./fuzz-case";
import { judge, type Reply } from "./execute";

type Run = (env: Record<string, string>, stdin: Uint8Array) => Promise<Reply>;

const CACHING_VERSIONS = ["0.4.0", "1.0.0", "1.1.0"];

export async function lifecycle(
  addStdout: string,
  env: Readonly<Record<string, string>>,
  stdin: Uint8Array,
  run: Run,
): Promise<string | undefined> {
  const config = JSON.parse(new TextDecoder().decode(stdin)) as Record<string, unknown>;
  const version =
    typeof config["cniVersion"] === "string" && config["cniVersion"] !== "" ? config["cniVersion"] : "0.1.0";
  const caching = CACHING_VERSIONS.includes(version);
  const followUp = caching ? withPrevResult(config, addStdout, stdin) : stdin;
  const steps = [...(caching ? ["CHECK"] : []), "DEL", "DEL"];
  for (const [i, command] of steps.entries()) {
    const reply = await run({ ...env, CNI_COMMAND: command }, followUp);
    const verdict = judge(reply, succeeds, false);
    if (verdict.problem !== undefined) {
      const which = i === steps.length - 1 && command === "DEL" ? "the second DEL" : command;
      return `${which} after a successful ADD: ${verdict.problem}\n  stdout: ${reply.stdout.slice(0, 500)}\n  stderr: ${reply.stderr.slice(0, 500)}`;
    }
  }
  return undefined;
}

/** The config with the ADD's result as prevResult; one nested too deep to write again goes as it was. */
function withPrevResult(config: Record<string, unknown>, addStdout: string, stdin: Uint8Array): Uint8Array {
  try {
    return new TextEncoder().encode(JSON.stringify({ ...config, prevResult: JSON.parse(addStdout) }));
  } catch (error: unknown) {
    if (error instanceof RangeError) return stdin;
    throw error;
  }
}

/**
 * A safety net under the generator: no case may name the namespace the fuzzer runs in (the root
 * namespace) as CNI_NETNS.
 */
export function checkNotRootNetns(path: string | undefined): void {
  // /proc/self and /proc/thread-self name the plugin's own process when the plugin resolves them.
  if (path === undefined || path === "" || /^\/proc\/(self|thread-self)\//.test(path)) return;
  let target;
  try {
    target = statSync(path);
  } catch {
    return;
  }
  const own = statSync("/proc/self/ns/net");
  if (target.dev === own.dev && target.ino === own.ino) {
    throw new Error(`refusing to run a case with CNI_NETNS=${path}: that is the fuzzer's own network namespace`);
  }
}

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
  const followUp = caching ? withPrevResult(stdin, addStdout) : stdin;
  // A runtime deletes whatever CHECK said: every step runs, the first problem is reported.
  const problems: string[] = [];
  const steps = [...(caching ? ["CHECK"] : []), "DEL", "the second DEL"];
  for (const step of steps) {
    const reply = await run({ ...env, CNI_COMMAND: step === "CHECK" ? "CHECK" : "DEL" }, followUp);
    const verdict = judge(reply, succeeds, false);
    if (verdict.problem !== undefined) {
      problems.push(
        `${step} after a successful ADD: ${verdict.problem}\n  stdout: ${reply.stdout.slice(0, 500)}\n  stderr: ${reply.stderr.slice(0, 500)}`,
      );
    }
  }
  return problems[0];
}

/**
 * The config with the ADD's result as prevResult, written into the text as it was (a key repeated
 * last wins): a config too deep or too odd to parse and write again goes unchanged otherwise.
 */
function withPrevResult(stdin: Uint8Array, addStdout: string): Uint8Array {
  const text = new TextDecoder().decode(stdin);
  const end = text.lastIndexOf("}");
  return new TextEncoder().encode(`${text.slice(0, end)},"prevResult":${addStdout.trim()}${text.slice(end)}`);
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

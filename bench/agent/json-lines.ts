// A child process spoken to in JSON lines (one request, one reply), and the Bun compile that makes
// the benchmark's own programs run on the runtime the product ships on.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface, type Interface } from "node:readline";

import { runOk } from "../../test/helpers/run";

const ROOT = resolve(import.meta.dirname, "../..");

/** Compiles `entry` like dist/tscni (same flags, the addon embedded) into `directory`; returns the path. */
export function compileLikeTheProduct(entry: string, directory: string): string {
  const output = join(directory, entry.replace(/^.*\//, "").replace(/\.ts$/, ""));
  runOk(join(ROOT, "node_modules/.bin/bun"), [
    "build",
    ...["--compile", "--splitting", "--format=esm", "--bytecode", "--minify"],
    ...["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"],
    join(ROOT, entry),
    "--outfile",
    output,
  ]);
  return output;
}

export class JsonLinesChild {
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private readonly reader: Interface;
  private stderr = "";

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    if (this.child.pid === undefined) throw new Error(`cannot start ${command}`);
    this.pid = this.child.pid;
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.reader = createInterface({ input: this.child.stdout });
    this.lines = this.reader[Symbol.asyncIterator]();
  }

  async request<T>(message: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    const next = await this.lines.next();
    if (next.done === true) throw new Error(`the child exited: ${this.stderr.trim()}`);
    return JSON.parse(next.value) as T;
  }

  /** Ends it by PID. */
  kill(): void {
    this.reader.close();
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, "SIGKILL");
  }
}

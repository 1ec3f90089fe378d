// Runs commands without a shell: arguments are passed as an array, always.
import { spawn, type SpawnOptions, spawnSync, type SpawnSyncOptions } from "node:child_process";

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, ...options });
  // A command that exits without reading all its input (a plugin answering VERSION) breaks the pipe;
  // like Go's os/exec (what runtimes use), that is no failure when the command did run.
  const brokenInputPipe =
    (result.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && result.status !== null;
  if (result.error !== undefined && !brokenInputPipe) throw new Error(`cannot run ${command}`, { cause: result.error });
  return {
    status: result.status,
    signal: result.signal,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
  };
}

/** Runs a command that must succeed; returns its stdout. */
export function runOk(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Runs a command without blocking the event loop; resolves when it exits, whatever its status. */
export function runAsync(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (error) => reject(new Error(`cannot run ${command}`, { cause: error })));
    child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

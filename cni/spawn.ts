// Running a child process with bytes on its stdin and its output captured, never through a shell,
// for exec'd delegates and the netfilter tools (iptables-save/-restore, nft).
//
// In the compiled binary this uses Bun.spawn: measured on the project's VM, a spawn through Bun's
// node:child_process costs 16-19 ms before the child gets its stdin (its stream layer loads and
// starts on first use), Bun.spawn about 1.5 ms; an exec'd IPAM plugin or an nft call would cost more
// than the rest of an ADD. Under Node (the test runner) node:child_process is used.

export interface ProcessOutput {
  /** The exit status; 128 + the signal number for a process killed by a signal. */
  readonly exitCode: number;
  /** The name of the signal that killed the process ("SIGKILL"), if one did. */
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessOptions {
  /** The child's whole environment (nothing is inherited). Undefined: this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdin?: Uint8Array | string;
  /** The child is killed (SIGKILL) when it runs longer than this. */
  readonly timeoutMs?: number;
}

/** The part of Bun's global this module uses (bun-types would clash with @types/node). */
interface BunSpawn {
  spawn(
    command: string[],
    options: {
      env?: Record<string, string | undefined>;
      stdin: Uint8Array;
      stdout: "pipe";
      stderr: "pipe";
      timeout?: number;
      killSignal?: string;
    },
  ): {
    readonly stdout: ReadableStream<Uint8Array>;
    readonly stderr: ReadableStream<Uint8Array>;
    readonly exited: Promise<number>;
    readonly signalCode: string | null;
  };
}

/**
 * Runs `file` (a path, or a name looked up in PATH) with `args`. Rejects when it cannot be started,
 * with the system error (its `code`, e.g. "ENOENT" or "ETXTBSY"); any exit status resolves.
 */
export async function runProcess(
  file: string,
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<ProcessOutput> {
  const stdin =
    typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : (options.stdin ?? new Uint8Array(0));
  const bun = (globalThis as { Bun?: BunSpawn }).Bun;
  if (bun !== undefined) {
    const child = bun.spawn([file, ...args], {
      ...(options.env !== undefined ? { env: { ...options.env } } : {}),
      stdin,
      stdout: "pipe",
      stderr: "pipe",
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs, killSignal: "SIGKILL" } : {}),
    });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, ...(child.signalCode !== null ? { signal: child.signalCode } : {}), stdout, stderr };
  }
  return runWithChildProcess(file, args, options, stdin);
}

async function runWithChildProcess(
  file: string,
  args: readonly string[],
  { env, timeoutMs }: ProcessOptions,
  stdin: Uint8Array,
): Promise<ProcessOutput> {
  const { spawn } = await import("node:child_process");
  const { constants } = await import("node:os");
  return new Promise<ProcessOutput>((resolve, reject) => {
    const child = spawn(file, [...args], {
      ...(env !== undefined ? { env } : {}),
      ...(timeoutMs !== undefined ? { timeout: timeoutMs, killSignal: "SIGKILL" } : {}),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    // A child that exits without reading all of stdin closes the pipe; its status says why.
    child.stdin.on("error", () => {});
    child.on("close", (code, signal) => {
      resolve({
        exitCode: code ?? 128 + (signal !== null ? constants.signals[signal] : 0),
        ...(signal !== null ? { signal } : {}),
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
    child.stdin.end(stdin);
  });
}

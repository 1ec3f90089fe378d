// Running a command in a private mount namespace (unshare -m) whose temporary directories are fresh
// tmpfs mounts, optionally noexec, with files planted in them first; and a small tmpfs over one
// directory that several commands share (a data dir that fills up or goes read-only). Nothing is
// mounted in, or written to, the host's own mount namespace.

import { type ChildProcess, spawn, type SpawnSyncOptions } from "node:child_process";
import { once } from "node:events";

import { run, runOk, type RunResult } from "./run";

export interface PrivateTmpOptions {
  /** Mount the fresh /tmp, /var/tmp and /dev/shm with noexec, as hardened hosts do. */
  readonly noexec?: boolean;
  /** Files copied into place (inside the private mounts) before the command runs. */
  readonly plant?: readonly { readonly source: string; readonly path: string }[];
  /** After the command, print the listing of /tmp (to learn what it created there). */
  readonly listTmp?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly cwd?: string;
}

// A fixed script; paths and the command arrive as positional arguments, never as script text.
const SCRIPT = `
set -e
options="$1"; plants="$2"; list="$3"; shift 3
for dir in /tmp /var/tmp /dev/shm; do mount -t tmpfs -o "mode=1777$options" tmpfs "$dir"; done
while [ "$plants" -gt 0 ]; do cp "$1" "$2"; shift 2; plants=$((plants - 1)); done
set +e
"$@"
status=$?
if [ "$list" = yes ]; then echo "--- /tmp:" >&2; ls -a /tmp >&2; fi
exit $status
`;

export function runWithPrivateTmp(
  command: string,
  args: readonly string[],
  options: PrivateTmpOptions = {},
): RunResult {
  const plants = options.plant ?? [];
  return run(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      SCRIPT,
      "sh",
      options.noexec === true ? ",noexec" : "",
      String(plants.length),
      options.listTmp === true ? "yes" : "no",
      ...plants.flatMap((p) => [p.source, p.path]),
      command,
      ...args,
    ],
    {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    },
  );
}

/**
 * A tmpfs of a chosen size mounted over `path` in a mount namespace of its own, kept alive by a
 * holder process (the namespace's only member until commands join it). Commands run inside with
 * `exec`; this process reads and writes the tmpfs through `view` (/proc/<holder>/root). Mounts made
 * later in the host's namespace (a new /run/netns entry) still appear inside (slave propagation);
 * nothing mounted inside appears outside.
 */
export class PrivateTmpfs {
  readonly path: string;
  private readonly holder: ChildProcess;

  private constructor(path: string, holder: ChildProcess) {
    this.path = path;
    this.holder = holder;
  }

  /** `options` are tmpfs mount options, e.g. "size=256k,nr_inodes=64". */
  static async mount(path: string, options: string): Promise<PrivateTmpfs> {
    const holder = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "slave",
        "sh",
        "-c",
        'mount -t tmpfs -o "mode=0755,$1" tmpfs "$2" && echo mounted && exec sleep infinity',
        "sh",
        options,
        path,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const tmpfs = new PrivateTmpfs(path, holder);
    const [line] = (await Promise.race([
      once(holder.stdout!, "data"),
      once(holder, "exit").then(() => [Buffer.from("")]),
    ])) as [Buffer];
    if (!line.toString().includes("mounted")) {
      await tmpfs.unmount();
      throw new Error(`cannot mount a tmpfs over ${path}`);
    }
    return tmpfs;
  }

  get pid(): number {
    if (this.holder.pid === undefined) throw new Error("the tmpfs holder did not start");
    return this.holder.pid;
  }

  /** The prefix under which this process sees the namespace's files. */
  get viewPrefix(): string {
    return `/proc/${this.pid}/root`;
  }

  view(path = this.path): string {
    return `${this.viewPrefix}${path}`;
  }

  /** The command line that runs `command args...` inside the namespace. */
  wrap(command: string, args: readonly string[]): [string, string[]] {
    return ["nsenter", ["--target", String(this.pid), "--mount", "--", command, ...args]];
  }

  exec(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
    const [wrapper, wrapped] = this.wrap(command, args);
    return run(wrapper, wrapped, options);
  }

  /** Remounts read-only (true) or read-write (false). */
  setReadOnly(readOnly: boolean): void {
    runOk(...this.wrap("mount", ["-o", `remount,${readOnly ? "ro" : "rw"}`, this.path]));
  }

  /** Ends the holder (the tmpfs goes with its namespace). */
  async unmount(): Promise<void> {
    if (this.holder.exitCode !== null || this.holder.signalCode !== null) return;
    const exited = once(this.holder, "exit");
    this.holder.kill("SIGKILL");
    await exited;
  }
}

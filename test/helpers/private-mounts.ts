// A private mount namespace, kept alive by a holder process, in which a container runtime finds the
// test's directories at the fixed system paths it insists on (ctr reads /etc/cni/net.d and
// /opt/cni/bin; libcni caches in /var/lib/cni; podman keeps a cache in /var/lib/containers). A path
// that exists is covered by a bind mount; a missing one is created inside an overlay of its nearest
// existing ancestor, so the host's file system is never written. The runtime's own mounts (netns
// files, container root filesystems) stay in the namespace and vanish with it. The holder dies with
// the test process, however that ends.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";

import { scratchDir } from "./suite";

export interface PathReplacement {
  /** The system path the runtime uses, e.g. /etc/cni/net.d. */
  readonly path: string;
  /** The test's directory seen there. */
  readonly source: string;
}

// A fixed script; the scratch directory and the pairs arrive as positional arguments.
const SCRIPT = `
set -e
scratch="$1"; shift; n=0
while [ $# -gt 0 ]; do
  path="$1"; source="$2"; shift 2
  if [ ! -d "$path" ]; then
    parent="$path"; while [ ! -d "$parent" ]; do parent=$(dirname "$parent"); done
    n=$((n + 1)); mkdir -p "$scratch/upper$n" "$scratch/work$n"
    mount -t overlay overlay -o "lowerdir=$parent,upperdir=$scratch/upper$n,workdir=$scratch/work$n" "$parent"
    mkdir -p "$path"
  fi
  mount --bind "$source" "$path"
done
echo ready
exec setpriv --pdeathsig KILL sleep infinity
`;

const live = new Set<PrivateMounts>();
process.on("exit", () => {
  for (const mounts of live) mounts.killNow();
});

export class PrivateMounts {
  readonly pid: number;
  private readonly holder: ChildProcess;
  private readonly namespace: string;

  private constructor(holder: ChildProcess, pid: number) {
    this.holder = holder;
    this.pid = pid;
    this.namespace = readlinkSync(`/proc/${pid}/ns/mnt`);
  }

  /**
   * Makes the namespace (mounts made on the host later, such as new network namespaces, still
   * propagate into it; nothing propagates out). `scratch` holds the overlays' own directories.
   */
  static async create(scratch: string, replacements: readonly PathReplacement[]): Promise<PrivateMounts> {
    const overlays = join(scratch, "overlays");
    mkdirSync(overlays, { recursive: true });
    const args = replacements.flatMap((r) => [r.path, r.source]);
    const holder = spawn(
      "unshare",
      ["--mount", "--propagation", "slave", "sh", "-c", SCRIPT, "sh", overlays, ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let errors = "";
    holder.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    const exited = once(holder, "exit").then(() => undefined);
    const ready = once(holder.stdout!, "data").then(() => true);
    if (!(await Promise.race([ready, exited])) || holder.pid === undefined) {
      throw new Error(`cannot set up the private mount namespace: ${errors.trim()}`);
    }
    const mounts = new PrivateMounts(holder, holder.pid);
    live.add(mounts);
    return mounts;
  }

  /** nsenter's arguments that run a program in this mount namespace and in network namespace `netns`. */
  nsenterArgs(netns: string): string[] {
    return [`--mount=/proc/${this.pid}/ns/mnt`, `--net=${netns}`];
  }

  /** Processes in this mount namespace besides the holder (a runtime's daemons, e.g. conmon, shims). */
  processes(): number[] {
    const found: number[] = [];
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === this.pid) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/mnt`) === this.namespace) found.push(pid);
      } catch {
        // The process ended while we looked.
      }
    }
    return found;
  }

  /** Kills what is left in the namespace, then the holder; the namespace and its mounts go with them. */
  async stop(): Promise<void> {
    this.killNow();
    if (this.holder.exitCode === null && this.holder.signalCode === null) await once(this.holder, "exit");
  }

  killNow(): void {
    if (!live.delete(this)) return;
    for (const pid of this.processes()) killQuietly(pid);
    killQuietly(this.pid);
  }
}

/**
 * A scratch directory for a runtime (under build/, named after `label`) and a private mount
 * namespace in which each system path of `paths` shows the subdirectory it names, e.g.
 * `{ "/var/lib/cni": "var-lib-cni" }`. The directory is removed if the namespace cannot be made.
 */
export async function privateRuntimeRoot(
  label: string,
  paths: Readonly<Record<string, string>>,
): Promise<{ dir: string; mounts: PrivateMounts }> {
  const dir = scratchDir(label);
  const replacements = Object.entries(paths).map(([path, sub]) => ({ path, source: join(dir, sub) }));
  for (const { source } of replacements) mkdirSync(source, { recursive: true });
  try {
    return { dir, mounts: await PrivateMounts.create(dir, replacements) };
  } catch (error: unknown) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

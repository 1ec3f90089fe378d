// containerd 1.6 (Debian) started by the test with a private configuration (root, state and sockets
// under the test's scratch directory, the CRI plugin off), inside a node's network namespace and a
// private mount namespace (test/helpers/private-mounts.ts) where `ctr run --cni` finds the test's
// network config at /etc/cni/net.d, our suite at /opt/cni/bin (ctr reads only those two) and
// libcni's cache at /var/lib/cni. Every task runs in a cgroup below one of the test's own. stop()
// ends containerd by PID, then whatever it left (shims, tasks), and removes everything.
//
// Plugins named in `spy` are wrapped: each call appends "<CNI_COMMAND> <type> CNI_NETNS=<value>" to
// `calls`, then execs our plugin, so the tests can see what containerd passes (an empty
// CNI_NETNS on DEL).

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { BUSYBOX_IMAGE, type BusyboxImage } from "./busybox-image";
import { removeCgroup } from "./cgroups";
import type { TestNetns } from "./netns";
import { type PrivateMounts, privateRuntimeRoot } from "./private-mounts";
import { run, type RunResult } from "./run";
import { REFERENCE_PLUGINS } from "./suite";

/** The containerd namespace the tests' images and containers live in. */
const NAMESPACE = "tscni-test";
/** containerd-shim-runc-v2 puts its sockets here whatever the configuration says. */
const SHIM_SOCKET_DIR = "/run/containerd/s";
const SHIM_SOCKET_DIRS = [SHIM_SOCKET_DIR, "/run/containerd"];

let counter = 0;
const live = new Set<ContainerdNode>();
// A run that ends without its after hooks (an interrupted mocha) still kills containerd and the
// tasks and removes their cgroups; the private mount namespace kills the rest (shims).
process.on("exit", () => {
  for (const containerd of live) containerd.killNow();
});

export interface ContainerdNodeOptions {
  /** Our installed suite; the reference plugins fill in the types it lacks (portmap, ...). */
  readonly suiteDir: string;
  /** Plugin types whose calls are recorded. */
  readonly spy?: readonly string[];
}

export class ContainerdNode {
  readonly node: TestNetns;
  readonly dir: string;
  /** Seen by ctr as /etc/cni/net.d. */
  readonly networkDir: string;
  /** Seen by ctr as /var/lib/cni. */
  readonly cniCacheDir: string;
  readonly cgroupParent: string;
  private readonly socket: string;
  private readonly mounts: PrivateMounts;
  private readonly shimDirsExisted: boolean[];
  /** Tasks started, for their shims' sockets. */
  private readonly taskIds = new Set<string>();
  /** containerd itself (nsenter execs it: this is its PID). */
  private daemon: ChildProcess | undefined;
  private output = "";

  private constructor(node: TestNetns, dir: string, mounts: PrivateMounts, shimDirsExisted: boolean[]) {
    this.node = node;
    this.dir = dir;
    this.networkDir = join(dir, "net.d");
    this.cniCacheDir = join(dir, "var-lib-cni");
    this.socket = join(dir, "containerd.sock");
    this.mounts = mounts;
    this.shimDirsExisted = shimDirsExisted;
    this.cgroupParent = `/tscni-t${process.pid}-containerd${++counter}`;
  }

  static async start(node: TestNetns, image: BusyboxImage, options: ContainerdNodeOptions): Promise<ContainerdNode> {
    const shimDirsExisted = SHIM_SOCKET_DIRS.map((d) => existsSync(d));
    const { dir, mounts } = await privateRuntimeRoot("containerd", {
      "/etc/cni/net.d": "net.d",
      "/opt/cni/bin": "bin",
      "/var/lib/cni": "var-lib-cni",
    });
    for (const sub of ["fifo", "runc"]) mkdirSync(join(dir, sub));
    writeBinDir(dir, options);
    writeConfig(dir);
    const containerd = new ContainerdNode(node, dir, mounts, shimDirsExisted);
    live.add(containerd);
    try {
      await containerd.launch();
      containerd.ctrOk("image", "import", image.ociArchive);
    } catch (error: unknown) {
      await containerd.stop();
      throw error;
    }
    return containerd;
  }

  /** The calls of the spied plugins so far. */
  get calls(): string[] {
    const file = join(this.dir, "cni-calls.log");
    return existsSync(file)
      ? readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : [];
  }

  /** containerd's own log, for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Makes `conflist` the only network config ctr finds. */
  useNetwork(conflist: Readonly<Record<string, unknown>> & { readonly name: string }): void {
    for (const file of readdirSync(this.networkDir)) rmSync(join(this.networkDir, file));
    writeFileSync(join(this.networkDir, `10-${conflist.name}.conflist`), JSON.stringify(conflist, null, 2));
  }

  /** `ctr <args>` in the node's namespaces, against this containerd. */
  ctr(...args: string[]): RunResult {
    return run(
      "nsenter",
      [...this.mounts.nsenterArgs(this.node.path), "ctr", "--address", this.socket, "--namespace", NAMESPACE, ...args],
      { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
  }

  ctrOk(...args: string[]): string {
    const result = this.ctr(...args);
    if (result.status !== 0) throw new Error(`ctr ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return result.stdout;
  }

  /** `ctr run --rm --cni` of the busybox image as container `id`, running `command`. */
  runWithCni(id: string, command: readonly string[]): RunResult {
    this.taskIds.add(id);
    return this.ctr(
      "run",
      "--rm",
      "--cni",
      ...["--fifo-dir", join(this.dir, "fifo"), "--runc-root", join(this.dir, "runc")],
      ...["--cgroup", `${this.cgroupParent}/${id}`],
      BUSYBOX_IMAGE,
      id,
      ...command,
    );
  }

  /** Stops containerd by PID, then what it left behind, and removes every file. */
  async stop(): Promise<void> {
    live.delete(this);
    const daemon = this.daemon;
    this.daemon = undefined;
    if (daemon !== undefined && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = once(daemon, "exit");
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    const left = removeCgroup(this.cgroupParent);
    await this.mounts.stop();
    rmSync(this.dir, { recursive: true, force: true });
    // A shim removes its socket when it exits, but not when killed: its name is containerd's
    // sha256(<containerd address>/<namespace>/<task ID>).
    for (const id of this.taskIds) {
      const name = createHash("sha256")
        .update(join(this.socket, NAMESPACE, id))
        .digest("hex");
      rmSync(join(SHIM_SOCKET_DIR, name), { force: true });
    }
    SHIM_SOCKET_DIRS.forEach((dir, i) => {
      if (this.shimDirsExisted[i] === false && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    });
    if (left.length > 0) throw new Error(`cgroups left behind: ${left.join(", ")}`);
  }

  /** Kills containerd and the tasks at once (at exit, when stop() could not run). */
  killNow(): void {
    this.daemon?.kill("SIGKILL");
    removeCgroup(this.cgroupParent);
  }

  private async launch(): Promise<void> {
    const daemon = spawn(
      "nsenter",
      // containerd dies with the test process, however that ends.
      [
        ...this.mounts.nsenterArgs(this.node.path),
        ...["setpriv", "--pdeathsig", "KILL", "containerd", "--config", join(this.dir, "config.toml")],
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
    this.daemon = daemon;
    daemon.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    daemon.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    for (let attempt = 0; attempt < 100; attempt++) {
      if (daemon.exitCode !== null || daemon.signalCode !== null) break;
      if (existsSync(this.socket) && this.ctr("version").status === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`containerd did not start:\n${this.output}`);
  }
}

/** containerd's config: every path under `dir`, no CRI, no debug or metrics listeners. */
function writeConfig(dir: string): void {
  const str = (value: string) => JSON.stringify(value);
  writeFileSync(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = ${str(join(dir, "root"))}`,
      `state = ${str(join(dir, "state"))}`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]",
      `  address = ${str(join(dir, "containerd.sock"))}`,
      "[ttrpc]",
      `  address = ${str(join(dir, "containerd.sock.ttrpc"))}`,
      "[debug]",
      `  address = ""`,
      "[metrics]",
      `  address = ""`,
      `[plugins."io.containerd.internal.v1.opt"]`,
      `  path = ${str(join(dir, "opt"))}`,
      "",
    ].join("\n"),
  );
}

/** /opt/cni/bin as ctr sees it: our plugins, the reference ones we lack, spies in front of some. */
function writeBinDir(dir: string, options: ContainerdNodeOptions): void {
  const bin = join(dir, "bin");
  const ours = readdirSync(options.suiteDir);
  for (const name of ours) {
    if (options.spy?.includes(name) === true) writeSpy(join(bin, name), join(options.suiteDir, name), dir);
    else symlinkSync(join(options.suiteDir, name), join(bin, name));
  }
  for (const name of readdirSync(REFERENCE_PLUGINS)) {
    if (!ours.includes(name)) symlinkSync(join(REFERENCE_PLUGINS, name), join(bin, name));
  }
}

function writeSpy(path: string, plugin: string, dir: string): void {
  const log = join(dir, "cni-calls.log");
  const type = plugin.slice(plugin.lastIndexOf("/") + 1);
  writeFileSync(
    path,
    `#!/bin/sh\nprintf '%s ${type} CNI_NETNS=%s\\n' "$CNI_COMMAND" "$CNI_NETNS" >> '${log}'\nexec '${plugin}'\n`,
  );
  chmodSync(path, 0o755);
}

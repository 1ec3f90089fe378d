// Podman (Debian 12's 4.3, CNI network backend) as one node's container runtime, entirely private to
// the test: its own containers.conf, storage, network config directory and CNI plugin directories.
// It runs with `nsenter --net=<node netns>` (`ip netns exec` would remount /sys and hide the cgroup
// mounts runc needs), inside a private mount namespace where the containers' network namespace
// files (/run/netns), libcni's cache (/var/lib/cni) and podman's image cache (/var/lib/containers)
// are the test's directories. The system's containers.conf, storage and /etc/cni/net.d are never
// read (the podman package's 87-podman-bridge network there would change the root namespace).

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { BusyboxImage } from "./busybox-image";
import { BUSYBOX_IMAGE } from "./busybox-image";
import { removeCgroup } from "./cgroups";
import { type PrivateMounts, privateRuntimeRoot } from "./private-mounts";
import { run, type RunResult } from "./run";

let counter = 0;
const live = new Set<PodmanNode>();
// A run that ends without its after hooks (an interrupted mocha) still kills its containers and
// removes their cgroups; the private mount namespace kills the rest (conmon).
process.on("exit", () => {
  for (const node of live) removeCgroup(node.cgroupParent);
});

export interface PodmanNodeOptions {
  /** cni_plugin_dirs, searched in order (our installed suite first). */
  readonly pluginDirs: readonly string[];
}

export class PodmanNode {
  /** The node's network namespace (a path under /run/netns). */
  readonly netns: string;
  readonly dir: string;
  /** network_config_dir: one conflist per network. */
  readonly networkDir: string;
  /** libcni's cache as podman's plugins see it at /var/lib/cni. */
  readonly cniCacheDir: string;
  /** The containers' network namespace files, as podman sees them at /run/netns. */
  readonly netnsDir: string;
  /** Every container's cgroup is below this one (a top-level cgroup of the test's own). */
  readonly cgroupParent: string;
  private readonly mounts: PrivateMounts;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(netns: string, dir: string, mounts: PrivateMounts, cgroupParent: string) {
    this.netns = netns;
    this.dir = dir;
    this.networkDir = join(dir, "net.d");
    this.cniCacheDir = join(dir, "var-lib-cni");
    this.netnsDir = join(dir, "run-netns");
    this.mounts = mounts;
    this.cgroupParent = cgroupParent;
    this.env = {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      CONTAINERS_CONF: join(dir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"),
      TMPDIR: join(dir, "tmp"),
    };
  }

  /** A podman for the node whose network namespace is `netns`, with `image` imported. */
  static async create(netns: string, image: BusyboxImage, options: PodmanNodeOptions): Promise<PodmanNode> {
    const { dir, mounts } = await privateRuntimeRoot("podman", {
      "/run/netns": "run-netns",
      "/var/lib/cni": "var-lib-cni",
      "/var/lib/containers": "var-lib-containers",
    });
    for (const sub of ["net.d", "tmp"]) mkdirSync(join(dir, sub));
    writeConfigs(dir, options.pluginDirs);
    const node = new PodmanNode(netns, dir, mounts, `/tscni-t${process.pid}-podman${++counter}`);
    live.add(node);
    try {
      node.podmanOk("import", image.rootfsTar, BUSYBOX_IMAGE);
    } catch (error: unknown) {
      await node.destroy();
      throw error;
    }
    return node;
  }

  /** Writes network `name` as `<name>.conflist` in the network config directory. */
  writeNetwork(name: string, conflist: Readonly<Record<string, unknown>>): void {
    writeFileSync(join(this.networkDir, `${name}.conflist`), JSON.stringify({ ...conflist, name }, null, 2));
  }

  /** Runs `podman <args>` on the node. */
  podman(...args: string[]): RunResult {
    return run("nsenter", [...this.mounts.nsenterArgs(this.netns), "podman", ...args], { env: this.env });
  }

  podmanOk(...args: string[]): string {
    const result = this.podman(...args);
    if (result.status !== 0) throw new Error(`podman ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return result.stdout;
  }

  /** `podman run` of the busybox image on `network`: `options` before the image, `command` after. */
  run(network: string, options: readonly string[], command: readonly string[]): RunResult {
    return this.podman(
      "run",
      `--cgroup-parent=${this.cgroupParent}`,
      `--network=${network}`,
      ...options,
      BUSYBOX_IMAGE,
      ...command,
    );
  }

  /** Removes every container (podman tears their networks down), then everything else it started. */
  async destroy(): Promise<void> {
    this.podman("rm", "--all", "--force", "--time", "0");
    live.delete(this);
    const left = removeCgroup(this.cgroupParent);
    await this.mounts.stop();
    rmSync(this.dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`cgroups left behind: ${left.join(", ")}`);
  }
}

/** containers.conf and storage.conf: everything under `dir`, nothing from the system's defaults. */
function writeConfigs(dir: string, pluginDirs: readonly string[]): void {
  const str = (value: string) => JSON.stringify(value);
  const list = (values: readonly string[]) => `[${values.map(str).join(", ")}]`;
  writeFileSync(
    join(dir, "containers.conf"),
    [
      "[containers]",
      "# Podman's defaults exceed this machine kind's hard limits (nofile <= 20000, nproc <= 32768).",
      `default_ulimits = ${list(["nofile=20000:20000", "nproc=32768:32768"])}`,
      `log_driver = "k8s-file"`,
      "[network]",
      `network_backend = "cni"`,
      `network_config_dir = ${str(join(dir, "net.d"))}`,
      `cni_plugin_dirs = ${list(pluginDirs)}`,
      "[engine]",
      "# crun rejects the mixed cgroup v1/v2 layout of this machine kind.",
      `runtime = "runc"`,
      `cgroup_manager = "cgroupfs"`,
      `events_logger = "none"`,
      `tmp_dir = ${str(join(dir, "tmp"))}`,
      `image_copy_tmp_dir = ${str(join(dir, "tmp"))}`,
      `static_dir = ${str(join(dir, "storage/libpod"))}`,
      `volume_path = ${str(join(dir, "storage/volumes"))}`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "storage.conf"),
    [
      "[storage]",
      `driver = "vfs"`,
      `graphroot = ${str(join(dir, "storage"))}`,
      `runroot = ${str(join(dir, "run"))}`,
      "",
    ].join("\n"),
  );
}

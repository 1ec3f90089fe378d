// One fuzz worker's world: a "host" namespace the plugin runs in, a pod namespace for CNI_NETNS, a
// data dir, a scratch dir with the fixtures cases point at (a regular file, a directory, a symlink
// loop, a link to the pod namespace, resolv.conf files) and a working directory. Everything lives
// under build/ and in namespaces this process made, and is rebuilt from scratch by reset().

import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { TokenValues } from "./fuzz-case";
import { TestNetns } from "../helpers/netns";

/** The node's lease as a flannel daemon publishes it, whole, dual-stack, corrupt and partial. */
export const SUBNET_ENV_FILES: Readonly<Record<string, string>> = {
  "subnet.env": "FLANNEL_NETWORK=10.30.0.0/16\nFLANNEL_SUBNET=10.30.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
  "subnet6.env":
    "FLANNEL_NETWORK=10.31.0.0/16\nFLANNEL_SUBNET=10.31.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:31::/56\n" +
    "FLANNEL_IPV6_SUBNET=fd00:31:0:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
  "subnet-corrupt.env":
    "FLANNEL_NETWORK=10.30.0.0/16\nFLANNEL_SUBNET=10.30.1.1/33\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
  "subnet-partial.env": "FLANNEL_NETWORK=10.30.0.0/16\nFLANNEL_SUBNET=10.30.1.1/24\n",
};

export class Workspace {
  readonly root: string;
  readonly dataDir: string;
  readonly scratch: string;
  /** Outside what snapshots cover: the stdin files of the cases. */
  readonly ioDir: string;
  readonly cwd: string;
  private readonly label: string;
  private hostNs: TestNetns | undefined;
  private podNs: TestNetns | undefined;

  constructor(parent: string, label: string) {
    this.label = label;
    this.root = join(parent, label);
    this.dataDir = join(this.root, "data");
    this.scratch = join(this.root, "scratch");
    this.ioDir = join(parent, `${label}-io`);
    this.cwd = join(this.scratch, "cwd");
  }

  get host(): TestNetns {
    if (this.hostNs === undefined) throw new Error("workspace not set up");
    return this.hostNs;
  }

  get pod(): TestNetns {
    if (this.podNs === undefined) throw new Error("workspace not set up");
    return this.podNs;
  }

  /** Directories the snapshots compare (the data dir and the scratch dir, the working directory in it). */
  get watchedDirs(): readonly string[] {
    return [this.dataDir, this.scratch];
  }

  tokens(suiteDir: string): TokenValues {
    return { pod: this.pod.path, host: this.host.path, data: this.dataDir, scratch: this.scratch, suite: suiteDir };
  }

  /** Builds (or rebuilds) everything: new namespaces, empty data dir, fresh fixtures. */
  reset(): void {
    this.dispose();
    this.hostNs = TestNetns.create(`fz${this.label}-host`);
    this.podNs = TestNetns.create(`fz${this.label}-pod`);
    // The first time lo goes up the kernel gives it 127.0.0.1 and a queue, which stay when it goes
    // down again: kernel state, not the plugin's. The pod starts as after an earlier attachment.
    this.podNs.ip("link", "set", "lo", "up");
    this.podNs.ip("link", "set", "lo", "down");
    mkdirSync(this.dataDir, { recursive: true });
    mkdirSync(join(this.scratch, "dir"), { recursive: true });
    mkdirSync(this.cwd, { recursive: true });
    mkdirSync(this.ioDir, { recursive: true });
    writeFileSync(join(this.scratch, "file"), "not a directory\n");
    writeFileSync(
      join(this.scratch, "resolv.conf"),
      "nameserver 10.96.0.10\nsearch svc.cluster.local\noptions ndots:5\n",
    );
    writeFileSync(join(this.scratch, "garbage"), Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x6e, 0x61, 0x6d, 0x65, 0xc3]));
    for (const [name, content] of Object.entries(SUBNET_ENV_FILES)) writeFileSync(join(this.scratch, name), content);
    symlinkSync(join(this.scratch, "loop"), join(this.scratch, "loop"));
    symlinkSync(this.pod.path, join(this.scratch, "pod-link"));
  }

  /**
   * Deletes the host's bridges and VLAN gateway interfaces (`<bridge>.<vlan>`, whose peer goes with
   * it): state a successful bridge case leaves on purpose and the next case would inherit (a
   * promiscuous bridge, a gateway address of another subnet). A leaked port of a deleted bridge
   * stays, and shows.
   */
  removeSharedLinks(): void {
    const links = this.host.ipJson<{ ifname: string; linkinfo?: { info_kind?: string } }[]>("-d", "link", "show");
    for (const link of links) {
      if (link.linkinfo?.info_kind === "bridge" || /\.\d+$/.test(link.ifname)) this.host.ip("link", "del", link.ifname);
    }
  }

  dispose(): void {
    this.podNs?.delete();
    this.hostNs?.delete();
    this.podNs = undefined;
    this.hostNs = undefined;
    rmSync(this.root, { recursive: true, force: true });
    rmSync(this.ioDir, { recursive: true, force: true });
  }
}

// A node for the reliability runs: a "host" namespace standing in for it, the suite installed as a
// runtime sees it, and the two chains under test, each a conflist driven through the real libcni
// (test/driver) or invoked directly as a runtime does:
//
//   bridge  bridge + host-local, ipMasq on, dual-stack ranges
//   flannel flannel -> bridge -> host-local in one process, ipMasq on (the node daemon's off), dual-stack
//
// Each chain names its masquerade backend. Everything lives in the node's scratch directory and
// namespaces, removed by remove() whatever happened.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { DriverWorkspace } from "../helpers/driver";
import { TestNetns } from "../helpers/netns";
import type { RunResult } from "../helpers/run";
import { pluginPath, suiteDir } from "../helpers/suite";

export type Backend = "iptables" | "nftables";
export type ChainKind = "bridge" | "flannel";

export interface ChainSpec {
  readonly kind: ChainKind;
  readonly backend: Backend;
}

export const chainLabel = (spec: ChainSpec): string =>
  spec.kind === "bridge" ? `bridge+host-local (${spec.backend})` : `flannel->bridge->host-local (${spec.backend})`;

/** One conflist on the node: its network, the plugin the runtime calls, where its state lives. */
export class Chain {
  readonly spec: ChainSpec;
  readonly network: string;
  /** host-local's data dir; the network's reservations are in <ipamDir>/<ipamNetwork>. */
  readonly ipamDir: string;
  /** flannel's dataDir (saved delegate configs); undefined for the bridge chain. */
  readonly flannelDir: string | undefined;
  readonly bridgeName: string;
  /** The plugin config of the conflist's only plugin. */
  readonly plugin: Readonly<Record<string, unknown>>;

  constructor(spec: ChainSpec, index: number, root: string, stateDir: string) {
    this.spec = spec;
    this.network = `${spec.kind}-${spec.backend}-${index}`;
    this.bridgeName = `rbr${index}`;
    this.ipamDir = join(stateDir, `ipam-${index}`);
    const v4 = `10.${40 + index}`;
    const v6 = `fd00:${40 + index}`;
    if (spec.kind === "bridge") {
      this.flannelDir = undefined;
      this.plugin = {
        type: "bridge",
        bridge: this.bridgeName,
        isGateway: true,
        ipMasq: true,
        ipMasqBackend: spec.backend,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: `${v4}.0.0/24` }], [{ subnet: `${v6}::/64` }]],
          dataDir: this.ipamDir,
        },
      };
    } else {
      this.flannelDir = join(stateDir, `flannel-${index}`);
      const subnetFile = join(root, `subnet-${index}.env`);
      // The daemon does not masquerade (FLANNEL_IPMASQ=false): the delegate gets ipMasq true.
      writeFileSync(
        subnetFile,
        [
          `FLANNEL_NETWORK=${v4}.0.0/16`,
          `FLANNEL_SUBNET=${v4}.1.1/24`,
          `FLANNEL_IPV6_NETWORK=${v6}::/56`,
          `FLANNEL_IPV6_SUBNET=${v6}:0:1::1/64`,
          "FLANNEL_MTU=1450",
          "FLANNEL_IPMASQ=false",
          "",
        ].join("\n"),
      );
      this.plugin = {
        type: "flannel",
        subnetFile,
        dataDir: this.flannelDir,
        delegate: { bridge: this.bridgeName, hairpinMode: true, isDefaultGateway: true, ipMasqBackend: spec.backend },
        ipam: { dataDir: this.ipamDir },
      };
    }
  }

  get label(): string {
    return chainLabel(this.spec);
  }

  /** The directory of the network's reservations (host-local keys it by the network name). */
  get reservationDir(): string {
    return join(this.ipamDir, this.network);
  }

  /** The plugin's stdin as libcni builds it for a conflist with one plugin. */
  config(cniVersion = "1.0.0", extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
    return { cniVersion, name: this.network, ...this.plugin, ...extra };
  }

  conflist(): Record<string, unknown> {
    return { cniVersion: "1.0.0", name: this.network, plugins: [this.plugin] };
  }
}

/** A pod: its namespace and the attachment libcni's cnitool derives from the namespace path. */
export interface Pod {
  readonly ns: TestNetns;
  readonly containerId: string;
  readonly ifName: string;
}

export interface NodeOptions {
  /**
   * The directory holding the plugins' data dirs (default: the node's scratch directory). The plugins
   * create what they need in it, so it may be a mount only the plugins' mount namespace sees.
   */
  readonly stateDir?: string;
  /** How this process reaches the plugins' files: a prefix such as /proc/<pid>/root. */
  readonly viewPrefix?: string;
  /** Wraps the command line of a direct invocation (to run it in another mount namespace). */
  readonly wrap?: (command: string, args: readonly string[]) => [string, string[]];
}

const liveNodes = new Set<ReliabilityNode>();

export class ReliabilityNode {
  readonly host: TestNetns;
  readonly workspace: DriverWorkspace;
  readonly chains: readonly Chain[];
  readonly stateDir: string;
  private readonly viewPrefix: string;
  private readonly wrap: NonNullable<NodeOptions["wrap"]>;

  constructor(specs: readonly ChainSpec[], options: NodeOptions = {}) {
    this.workspace = new DriverWorkspace();
    this.stateDir = options.stateDir ?? join(this.workspace.root, "state");
    this.viewPrefix = options.viewPrefix ?? "";
    this.wrap = options.wrap ?? ((command, args) => [command, [...args]]);
    this.host = TestNetns.create("node", { loUp: true });
    liveNodes.add(this);
    try {
      mkdirSync(this.stateDir, { recursive: true });
      this.chains = specs.map((spec, index) => new Chain(spec, index, this.workspace.root, this.stateDir));
      for (const chain of this.chains) this.workspace.writeConfig(`${chain.network}.conflist`, chain.conflist());
    } catch (error: unknown) {
      this.remove();
      throw error;
    }
  }

  /** The path under which this process sees a file of the plugins' (see NodeOptions.viewPrefix). */
  view(path: string): string {
    return `${this.viewPrefix}${path}`;
  }

  get cniPath(): string {
    return suiteDir();
  }

  pod(): Pod {
    const ns = TestNetns.create("pod", { loUp: true });
    return { ns, containerId: cnitoolContainerId(ns.path), ifName: "eth0" };
  }

  /** A verb through the libcni driver (result cache included), as a runtime runs it. */
  driver(verb: "add" | "check" | "del", chain: Chain, pod: Pod): Promise<RunResult> {
    return this.workspace.runAsync(this.host, verb, chain.network, pod.ns.path, { CNI_PATH: this.cniPath });
  }

  /** The command line and environment of a direct invocation of the chain's plugin (inside the host namespace). */
  invocation(
    command: "ADD" | "DEL" | "GC",
    chain: Chain,
    stdin: Readonly<Record<string, unknown>>,
    pod?: Pod,
  ): { command: string; args: string[]; env: Record<string, string>; stdin: string } {
    const attachment =
      pod === undefined ? {} : { CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.ns.path, CNI_IFNAME: pod.ifName };
    const [wrapper, args] = this.wrap("ip", [
      "netns",
      "exec",
      this.host.name,
      pluginPath(String(chain.plugin["type"])),
    ]);
    return {
      command: wrapper,
      args,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", CNI_COMMAND: command, CNI_PATH: this.cniPath, ...attachment },
      stdin: JSON.stringify(stdin),
    };
  }

  remove(): void {
    liveNodes.delete(this);
    this.host.delete();
    this.workspace.remove();
  }

  /** Removes every node not removed yet (an interrupted run). */
  static removeAll(): void {
    for (const node of [...liveNodes]) node.remove();
  }
}

/** cnitool's container ID for a namespace path: "cnitool-" and the first 10 bytes of its SHA-512. */
export function cnitoolContainerId(netnsPath: string): string {
  return `cnitool-${createHash("sha512").update(netnsPath).digest("hex").slice(0, 20)}`;
}

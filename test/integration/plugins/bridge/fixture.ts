// A node for bridge tests: a "host" namespace standing in for the node, pods made on demand, a
// host-local data directory of its own, and the plugin run as a runtime runs it (the compiled
// binary, CNI_* variables, the config on stdin). CNI_PATH lists the suite first and the reference
// plugins after it, so our host-local is used once it exists and Debian's until then.

import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

import { attachmentEnv, callPlugin, type PluginReply } from "../../../helpers/cni-exec";
import { TestNetns } from "../../../helpers/netns";
import { pluginPath, REFERENCE_PLUGINS, scratchDir, suiteDir } from "../../../helpers/suite";
import { type IpAddress, type IpLink, ipLink } from "../../native/fixture";

export type { IpLink, IpRoute } from "../../native/fixture";

export const NETWORK = "bridgenet";

export interface Pod {
  readonly ns: TestNetns;
  readonly containerId: string;
  readonly ifName: string;
}

export class BridgeNode {
  readonly host: TestNetns;
  readonly dataDir: string;
  private readonly pods: TestNetns[] = [];
  private podCount = 0;

  constructor() {
    this.host = TestNetns.create("node", { loUp: true });
    this.dataDir = scratchDir("host-local");
  }

  get cniPath(): string {
    return `${suiteDir()}:${REFERENCE_PLUGINS}`;
  }

  /** A new pod namespace (lo up, as a runtime hands it over) with a fresh container ID. */
  pod(ifName = "eth0"): Pod {
    const ns = TestNetns.create("pod", { loUp: true });
    this.pods.push(ns);
    return { ns, containerId: `ctr-${++this.podCount}-${ns.name.slice(-4)}`, ifName };
  }

  /** A bridge config with host-local on `subnet` (or the given ipam); keys override the defaults. */
  config(keys: Record<string, unknown> = {}, subnet = "10.22.0.0/24"): Record<string, unknown> {
    return {
      cniVersion: "1.0.0",
      name: NETWORK,
      type: "bridge",
      bridge: "cni0",
      isGateway: true,
      ipam: { type: "host-local", subnet, dataDir: this.dataDir },
      ...keys,
    };
  }

  call(
    command: string,
    pod: Pod | undefined,
    config: unknown,
    env: Readonly<Record<string, string>> = {},
    plugin = pluginPath("bridge"),
  ): PluginReply {
    const attachment =
      pod === undefined
        ? { CNI_PATH: this.cniPath }
        : attachmentEnv(pod.containerId, pod.ns.path, { CNI_PATH: this.cniPath, CNI_IFNAME: pod.ifName });
    return callPlugin({ plugin, command, host: this.host, config, env: { ...attachment, ...env } });
  }

  add(pod: Pod, config: unknown, env: Readonly<Record<string, string>> = {}): PluginReply {
    return this.call("ADD", pod, config, env);
  }

  /** ADD that must succeed; returns the result. */
  addOk(pod: Pod, config: unknown, env: Readonly<Record<string, string>> = {}): BridgeResult {
    const reply = this.add(pod, config, env);
    if (reply.status !== 0) throw new Error(`ADD failed: ${reply.stdout}${reply.stderr}`);
    return reply.json as unknown as BridgeResult;
  }

  /** DEL with the ADD result as prevResult, as libcni sends it. */
  del(pod: Pod, config: Record<string, unknown>, prevResult?: unknown, env: Readonly<Record<string, string>> = {}) {
    return this.call("DEL", pod, prevResult === undefined ? config : { ...config, prevResult }, env);
  }

  check(pod: Pod, config: Record<string, unknown>, prevResult: unknown): PluginReply {
    return this.call("CHECK", pod, { ...config, prevResult });
  }

  /** The addresses host-local has reserved in this node's data directory. */
  reservations(network = NETWORK): string[] {
    const dir = join(this.dataDir, network);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((file) => file !== "lock" && !file.startsWith("last_reserved_ip"));
  }

  /** The veth host ends the plugin made (`veth<8 hex>`) in the node's namespace. */
  hostVeths(): IpLink[] {
    return this.host
      .ipJson<IpLink[]>("-d", "link", "show", "type", "veth")
      .filter((l) => /^veth[0-9a-f]{8}$/.test(l.ifname));
  }

  link(name: string, ns: TestNetns = this.host): IpLink {
    return ipLink(ns, name);
  }

  addresses(name: string, ns: TestNetns = this.host): string[] {
    const [entry] = ns.ipJson<IpAddress[]>("addr", "show", "dev", name);
    return (entry?.addr_info ?? []).filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
  }

  remove(): void {
    for (const ns of this.pods) ns.delete();
    this.host.delete();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface BridgeResult {
  readonly cniVersion: string;
  readonly interfaces: readonly { name: string; mac?: string; sandbox?: string }[];
  readonly ips?: readonly { address: string; gateway?: string; interface?: number }[];
  readonly routes?: readonly { dst: string; gw?: string }[];
  readonly dns?: Record<string, unknown>;
}

/** A fresh node for every test of the enclosing describe, removed afterwards whatever happened. */
export function useBridgeNode(): { readonly node: BridgeNode } {
  let current: BridgeNode | undefined;
  beforeEach(() => {
    current = new BridgeNode();
  });
  afterEach(() => {
    current?.remove();
    current = undefined;
  });
  return {
    get node(): BridgeNode {
      if (current === undefined) throw new Error("the bridge node is used outside a test");
      return current;
    },
  };
}

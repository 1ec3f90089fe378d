// A cluster made of namespaces: an "underlay" namespace holding a bridge (the L2 segment the nodes
// share), a namespace per node with its `eth0` on that bridge, and pods in namespaces of their own,
// wired by hand behind a `cni0` bridge or attached by a CNI runtime. Agents run as processes inside
// their node namespace, tracked by PID. `destroy()` removes everything: processes, namespaces and
// the cluster's directory.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

import type { Netns, NetnsGroup } from "./netns";
import { runAsync } from "./run";

const ICMP_ECHO = join(import.meta.dirname, "icmp-echo.py");

export interface ClusterOptions {
  /** Where the namespaces come from (their names carry the group's prefix). */
  readonly namespaces: NetnsGroup;
  /** A directory for the cluster's files (lease store, subnet files, logs); removed by destroy(). */
  readonly dir: string;
  /** The underlay's /24, e.g. "192.168.77" (nodes get .11, .12, ...; the bridge .1). */
  readonly underlayPrefix?: string;
  readonly underlayMtu?: number;
  /** Also give the underlay IPv6: the bridge fd00:77::1/64, nodes fd00:77::<10 + number>. */
  readonly ipv6?: boolean;
}

export class Cluster {
  readonly namespaces: NetnsGroup;
  readonly underlay: Netns;
  readonly underlayPrefix: string;
  readonly mtu: number;
  readonly ipv6: boolean;
  readonly dir: string;
  readonly nodes: ClusterNode[] = [];

  constructor(options: ClusterOptions) {
    this.namespaces = options.namespaces;
    this.underlayPrefix = options.underlayPrefix ?? "192.168.77";
    this.mtu = options.underlayMtu ?? 1500;
    this.ipv6 = options.ipv6 ?? false;
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true });
    this.underlay = this.namespaces.create("underlay", { loUp: true });
    this.underlay.ip("link", "add", "br0", "mtu", String(this.mtu), "type", "bridge");
    this.underlay.ip("addr", "add", `${this.underlayGateway}/24`, "dev", "br0");
    if (this.ipv6) this.underlay.ip("addr", "add", "fd00:77::1/64", "dev", "br0", "nodad");
    this.underlay.ip("link", "set", "br0", "up");
  }

  /** The underlay bridge's address: the nodes' default gateway. */
  get underlayGateway(): string {
    return `${this.underlayPrefix}.1`;
  }

  /** A node on the underlay, at `<prefix>.<10 + number>`, default route via the bridge. */
  addNode(name = `node${this.nodes.length + 1}`): ClusterNode {
    const node = new ClusterNode(this, name, this.nodes.length + 1);
    this.nodes.push(node);
    return node;
  }

  destroy(): void {
    for (const node of this.nodes) node.destroy();
    this.underlay.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ClusterNode {
  readonly cluster: Cluster;
  readonly name: string;
  readonly ns: Netns;
  readonly underlayIp: string;
  readonly underlayIpv6: string;
  /** This node's files: subnet.env, logs. */
  readonly dir: string;
  readonly pods: Pod[] = [];
  private agents: AgentProcess[] = [];

  constructor(cluster: Cluster, name: string, number: number) {
    this.cluster = cluster;
    this.name = name;
    this.underlayIp = `${cluster.underlayPrefix}.${10 + number}`;
    this.underlayIpv6 = `fd00:77::${10 + number}`;
    this.dir = join(cluster.dir, name);
    mkdirSync(this.dir, { recursive: true });
    this.ns = cluster.namespaces.create(name, { loUp: true });
    const mtu = String(cluster.mtu);
    // The underlay end is created in the underlay namespace and enslaved to its bridge.
    this.ns.ip(
      "link",
      "add",
      "eth0",
      "mtu",
      mtu,
      "type",
      "veth",
      "peer",
      "name",
      `u-${name}`,
      "netns",
      cluster.underlay.name,
    );
    cluster.underlay.ip("link", "set", `u-${name}`, "master", "br0", "up");
    this.ns.ip("addr", "add", `${this.underlayIp}/24`, "dev", "eth0");
    this.ns.ip("link", "set", "eth0", "up");
    this.ns.ip("route", "add", "default", "via", cluster.underlayGateway);
    this.ns.setSysctl("net.ipv4.ip_forward", "1");
    if (cluster.ipv6) {
      this.ns.ip("addr", "add", `${this.underlayIpv6}/64`, "dev", "eth0", "nodad");
      this.ns.ip("-6", "route", "add", "default", "via", "fd00:77::1");
      this.ns.setSysctl("net.ipv6.conf.all.forwarding", "1");
    }
  }

  get subnetFile(): string {
    return join(this.dir, "subnet.env");
  }

  /**
   * A pod with `eth0` at the next free address of `subnet` ("10.244.1.0/24"), behind the node's
   * `cni0` bridge whose address is the subnet's .1 (what the bridge plugin does for flannel).
   */
  addPod(subnet: string, mtu = this.cluster.mtu - 50): Pod {
    const base = subnet.slice(0, subnet.lastIndexOf(".") + 1);
    if (this.pods.length === 0) {
      this.ns.ip("link", "add", "cni0", "mtu", String(mtu), "type", "bridge");
      this.ns.ip("addr", "add", `${base}1/24`, "dev", "cni0");
      this.ns.ip("link", "set", "cni0", "up");
    }
    const index = this.pods.length + 1;
    const hostEnd = `veth-${this.name}-${index}`.slice(0, 15);
    return this.attachPod((ns) => {
      const ip = `${base}${index + 1}`;
      const peer = ["peer", "name", "eth0", "mtu", String(mtu), "netns", ns.name];
      this.ns.ip("link", "add", hostEnd, "mtu", String(mtu), "type", "veth", ...peer);
      this.ns.ip("link", "set", hostEnd, "master", "cni0", "up");
      ns.ip("addr", "add", `${ip}/24`, "dev", "eth0");
      ns.ip("link", "set", "eth0", "up");
      ns.ip("route", "add", "default", "via", `${base}1`);
      return ip;
    });
  }

  /**
   * A pod in a new namespace, connected by `attach` (which returns the pod's address); the
   * namespace is removed again when `attach` fails, and with the node otherwise.
   */
  attachPod(attach: (ns: Netns) => string): Pod {
    const ns = this.cluster.namespaces.create(`${this.name}-pod${this.pods.length + 1}`, { loUp: true });
    try {
      const pod = new Pod(ns, attach(ns), `${this.name}/pod${this.pods.length + 1}`);
      this.pods.push(pod);
      return pod;
    } catch (error: unknown) {
      ns.delete();
      throw error;
    }
  }

  /** Starts `<binary> agent <args>` inside this node's namespace. */
  startAgent(binary: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
    const agent = new AgentProcess(this, binary, args, env);
    this.agents.push(agent);
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents) agent.kill();
    this.agents = [];
    for (const pod of this.pods) pod.ns.delete();
    this.ns.delete();
  }
}

export class Pod {
  readonly ns: Netns;
  readonly ip: string;
  /** "node1/pod2" for a node's pods. */
  readonly name: string;

  constructor(ns: Netns, ip: string, name = ns.name) {
    this.ns = ns;
    this.ip = ip;
    this.name = name;
  }

  /** One ICMP echo to each of `destinations` at once; resolves to those that answered. */
  async reachable(destinations: readonly string[], timeoutSeconds = 2): Promise<Set<string>> {
    const args = [
      "netns",
      "exec",
      this.ns.name,
      "python3",
      ICMP_ECHO,
      destinations.join(","),
      "1",
      String(timeoutSeconds),
    ];
    const { stdout } = await runAsync("ip", args);
    const answered = stdout
      .split("\n")
      .map((line) => line.split(" "))
      .filter(([, replies]) => replies === "1/1");
    return new Set(answered.map(([destination]) => destination ?? ""));
  }

  /** Sends ICMP echo requests (don't fragment) to `dst`; true when every one got its reply. */
  ping(dst: string, options: { count?: number; timeoutSeconds?: number; size?: number } = {}): boolean {
    const args = [
      ICMP_ECHO,
      dst,
      String(options.count ?? 1),
      String(options.timeoutSeconds ?? 2),
      String(options.size ?? 56),
    ];
    return this.ns.exec("python3", args).status === 0;
  }
}

/** An agent process, started through `ip netns exec` (which execs: the PID is the agent's). */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  private output = "";
  private readonly exited: Promise<number | null>;

  constructor(node: ClusterNode, binary: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn("ip", ["netns", "exec", node.ns.name, binary, "agent", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "", ...env },
    });
    if (this.child.pid === undefined) throw new Error(`cannot start the agent on ${node.name}`);
    this.pid = this.child.pid;
    this.child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = once(this.child, "exit").then(([code]) => code as number | null);
  }

  /** Everything the agent wrote so far (its logs go to stderr). */
  get logs(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and waits for the exit code (null when a signal ended it). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<number | null> {
    if (this.running) process.kill(this.pid, signal);
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  kill(): void {
    if (this.running) process.kill(this.pid, "SIGKILL");
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns its last answer. */
export async function eventually(check: () => boolean, timeoutMs = 10_000, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// A cluster made of namespaces: an "underlay" namespace holding a bridge (the L2 segment the nodes
// share), a namespace per node with its `eth0` on that bridge, and pods behind a `cni0` bridge in
// the node, wired as the bridge plugin would. Agents run as processes inside their node namespace,
// tracked by PID. Everything is removed by `destroy()` (and by the root hooks if a test dies).

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { TestNetns } from "./netns";
import { run } from "./run";
import { REPO_ROOT, scratchDir } from "./suite";

const ICMP_ECHO = join(REPO_ROOT, "test/helpers/icmp-echo.py");

export interface ClusterOptions {
  /** The underlay's /24, e.g. "192.168.77" (nodes get .11, .12, ...; the bridge .1). */
  readonly underlayPrefix?: string;
  readonly underlayMtu?: number;
  /** Also give the underlay IPv6: the bridge fd00:77::1/64, nodes fd00:77::<10 + number>. */
  readonly ipv6?: boolean;
}

export class Cluster {
  readonly underlay: TestNetns;
  readonly underlayPrefix: string;
  readonly mtu: number;
  readonly ipv6: boolean;
  /** A directory for the cluster's files (lease store, subnet files, logs). */
  readonly dir: string;
  readonly nodes: ClusterNode[] = [];

  constructor(options: ClusterOptions = {}) {
    this.underlayPrefix = options.underlayPrefix ?? "192.168.77";
    this.mtu = options.underlayMtu ?? 1500;
    this.ipv6 = options.ipv6 ?? false;
    this.dir = scratchDir("cluster");
    this.underlay = TestNetns.create("underlay", { loUp: true });
    this.underlay.ip("link", "add", "br0", "mtu", String(this.mtu), "type", "bridge");
    this.underlay.ip("addr", "add", `${this.underlayPrefix}.1/24`, "dev", "br0");
    if (this.ipv6) this.underlay.ip("addr", "add", "fd00:77::1/64", "dev", "br0", "nodad");
    this.underlay.ip("link", "set", "br0", "up");
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
    run("rm", ["-rf", this.dir]);
  }
}

export class ClusterNode {
  readonly cluster: Cluster;
  readonly name: string;
  readonly ns: TestNetns;
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
    this.ns = TestNetns.create(name, { loUp: true });
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
    this.ns.ip("route", "add", "default", "via", `${cluster.underlayPrefix}.1`);
    this.ns.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    if (cluster.ipv6) {
      this.ns.ip("addr", "add", `${this.underlayIpv6}/64`, "dev", "eth0", "nodad");
      this.ns.ip("-6", "route", "add", "default", "via", "fd00:77::1");
      this.ns.exec("sysctl", ["-qw", "net.ipv6.conf.all.forwarding=1"]);
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
    const pod = new Pod(TestNetns.create(`${this.name}-pod${index}`, { loUp: true }), `${base}${index + 1}`);
    const hostEnd = `veth-${this.name}-${index}`.slice(0, 15);
    this.ns.ip(
      "link",
      "add",
      hostEnd,
      "mtu",
      String(mtu),
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      pod.ns.name,
    );
    this.ns.ip("link", "set", hostEnd, "master", "cni0", "up");
    pod.ns.ip("addr", "add", `${pod.ip}/24`, "dev", "eth0");
    pod.ns.ip("link", "set", "eth0", "up");
    pod.ns.ip("route", "add", "default", "via", `${base}1`);
    this.pods.push(pod);
    return pod;
  }

  /** Starts `tscni agent <args>` inside this node's namespace. */
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
  readonly ns: TestNetns;
  readonly ip: string;

  constructor(ns: TestNetns, ip: string) {
    this.ns = ns;
    this.ip = ip;
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

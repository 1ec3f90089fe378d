// A flannel-style overlay on a namespace cluster, built the way a node is: `tscni agent` runs in
// every node namespace (the compiled binary), writes the node's subnet.env, and pods are attached
// by a CNI runtime (the libcni driver) with kube-flannel's conflist. Used by the multi-node tests
// and by `make demo`; it holds no assertions, only the cluster and ways to look at it.

import { readFileSync } from "node:fs";
import { join } from "node:path";

import IPCIDR from "ip-cidr";

import { type AgentProcess, Cluster, type ClusterNode, type ClusterOptions, eventually, type Pod } from "./cluster";
import { CniDriver } from "./cni-driver";
import type { Netns } from "./netns";

/** Where each agent serves /healthz, /readyz and /metrics, inside its node's namespace. */
const AGENT_HEALTH_ADDRESS = "127.0.0.1:9479";

/** Where the agents keep their leases: one directory they share (one host), or etcd. */
export type LeaseStoreSpec =
  | { readonly kind: "file"; readonly directory: string }
  | { readonly kind: "etcd"; readonly endpoints: readonly string[] };

/** A conflist as it sits in /etc/cni/net.d. */
export interface Conflist {
  readonly name: string;
  readonly cniVersion: string;
  readonly plugins: readonly Readonly<Record<string, unknown>>[];
}

export interface OverlayClusterOptions extends ClusterOptions {
  /** The compiled multi-call binary (`<binary> agent`). */
  readonly agentBinary: string;
  /** The libcni driver's executable. */
  readonly driverBinary: string;
  /** CNI_PATH: our installed suite first, then the reference plugins (portmap). */
  readonly cniPath: readonly string[];
  /** kube-flannel's conflist; each node gets it with its own subnet file and data directories. */
  readonly conflist: Conflist;
  readonly store: LeaseStoreSpec;
  /** flannel's net-conf.json; without it the agents read the config from the store. */
  readonly netConfPath?: string;
  readonly reconcileIntervalSeconds: number;
}

export class OverlayCluster {
  readonly cluster: Cluster;
  readonly nodes: OverlayNode[] = [];
  readonly options: OverlayClusterOptions;

  constructor(options: OverlayClusterOptions) {
    this.options = options;
    this.cluster = new Cluster(options);
  }

  addNode(): OverlayNode {
    const node = new OverlayNode(this, this.cluster.addNode());
    this.nodes.push(node);
    return node;
  }

  get pods(): Pod[] {
    return this.nodes.flatMap((node) => node.pods);
  }

  destroy(): void {
    this.cluster.destroy();
  }
}

export class OverlayNode {
  readonly overlay: OverlayCluster;
  readonly node: ClusterNode;
  readonly driver: CniDriver;
  private current: AgentProcess | undefined;

  constructor(overlay: OverlayCluster, node: ClusterNode) {
    this.overlay = overlay;
    this.node = node;
    this.driver = new CniDriver(overlay.options.driverBinary, node.dir);
    this.driver.writeConfig("10-flannel.conflist", this.conflist());
  }

  get name(): string {
    return this.node.name;
  }

  get ns(): Netns {
    return this.node.ns;
  }

  get pods(): readonly Pod[] {
    return this.node.pods;
  }

  /** The agent started last (running or not). */
  get agent(): AgentProcess | undefined {
    return this.current;
  }

  /** Starts the agent and waits until it answers /readyz (subnet.env written, rules in place). */
  async startAgent(timeoutMs = 15_000): Promise<AgentProcess> {
    const { agentBinary, store, netConfPath, reconcileIntervalSeconds } = this.overlay.options;
    const agent = this.node.startAgent(agentBinary, [
      ...(store.kind === "file"
        ? ["--store", `file:${store.directory}`]
        : ["--etcd-endpoints", store.endpoints.join(",")]),
      ...(netConfPath !== undefined ? ["--net-config-path", netConfPath] : []),
      "--subnet-file",
      this.node.subnetFile,
      // kube-flannel runs flanneld with --ip-masq: pod-to-pod traffic keeps its source address.
      "--ip-masq",
      "--reconcile-interval",
      String(reconcileIntervalSeconds),
      "--metrics-address",
      AGENT_HEALTH_ADDRESS,
    ]);
    this.current = agent;
    const ready = await eventually(() => !agent.running || this.agentEndpoint("/readyz") === "ready\n", timeoutMs);
    if (!ready || !agent.running) {
      agent.kill();
      throw new Error(`the agent on ${this.name} did not become ready:\n${agent.logs}`);
    }
    return agent;
  }

  /** GETs a path of the agent's health server; undefined when it does not answer. */
  agentEndpoint(path: string): string | undefined {
    const result = this.ns.exec("python3", [
      "-c",
      "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())",
      `http://${AGENT_HEALTH_ADDRESS}${path}`,
    ]);
    return result.status === 0 ? result.stdout : undefined;
  }

  /** This node's subnet ("10.244.23.0/24") from the subnet.env its agent wrote. */
  subnet(): string {
    const line = readFileSync(this.node.subnetFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("FLANNEL_SUBNET="));
    if (line === undefined) throw new Error(`${this.node.subnetFile} has no FLANNEL_SUBNET`);
    const gateway = new IPCIDR(line.slice("FLANNEL_SUBNET=".length));
    return `${gateway.start<string>()}/${gateway.address.subnetMask}`;
  }

  /** The MAC of this node's VXLAN device, as the kernel has it. */
  vtepMac(device = "flannel.1"): string {
    const [link] = this.ns.ipJson<{ address: string }[]>("link", "show", device);
    if (link === undefined) throw new Error(`${this.name} has no ${device}`);
    return link.address;
  }

  /** A pod attached by the runtime: a namespace, then `cnidriver add` with the node's conflist. */
  addPod(): Pod {
    return this.node.attachPod((ns) => {
      const added = this.runDriver("add", ns);
      if (added.status !== 0) throw new Error(`CNI ADD on ${this.name} failed: ${added.stderr.trim()}`);
      const result = JSON.parse(added.stdout) as { ips?: { address: string }[] };
      const address = result.ips?.[0]?.address;
      if (address === undefined) throw new Error(`CNI ADD on ${this.name} returned no address: ${added.stdout}`);
      return address.slice(0, address.indexOf("/"));
    });
  }

  /** `cnidriver del` for a pod of this node (its namespace stays until the node goes). */
  deletePod(pod: Pod): void {
    const deleted = this.runDriver("del", pod.ns);
    if (deleted.status !== 0) throw new Error(`CNI DEL of ${pod.name} failed: ${deleted.stderr.trim()}`);
  }

  private runDriver(verb: "add" | "del", pod: Netns) {
    return this.driver.run(this.ns, verb, this.overlay.options.conflist.name, pod.path, {
      CNI_PATH: this.overlay.options.cniPath.join(":"),
    });
  }

  /** kube-flannel's conflist with this node's subnet.env and data directories instead of the machine's. */
  private conflist(): Conflist {
    const { conflist } = this.overlay.options;
    return {
      ...conflist,
      plugins: conflist.plugins.map((plugin) =>
        plugin["type"] !== "flannel"
          ? plugin
          : {
              ...plugin,
              subnetFile: this.node.subnetFile,
              dataDir: join(this.node.dir, "flannel"),
              ipam: { ...(plugin["ipam"] as object | undefined), dataDir: join(this.node.dir, "networks") },
            },
      ),
    };
  }
}

export interface PingResult {
  readonly from: Pod;
  readonly to: Pod;
  readonly ok: boolean;
}

/** One echo from every pod to every other pod, all at once. */
export async function pingEveryPair(pods: readonly Pod[], timeoutSeconds = 2): Promise<PingResult[]> {
  const othersOf = (from: Pod) => pods.filter((to) => to !== from);
  const answered = await Promise.all(
    pods.map((from) =>
      from.reachable(
        othersOf(from).map((to) => to.ip),
        timeoutSeconds,
      ),
    ),
  );
  return pods.flatMap((from, index) =>
    othersOf(from).map((to) => ({ from, to, ok: answered[index]?.has(to.ip) === true })),
  );
}

/** The kernel's entries for the peers on a VXLAN device, read with `ip -j` and `bridge -j`. */
export interface PeerEntries {
  readonly routes: readonly { readonly dst: string; readonly gateway: string | undefined; readonly onlink: boolean }[];
  readonly neighbours: readonly { readonly dst: string; readonly lladdr: string | undefined; readonly state: string }[];
  readonly fdb: readonly { readonly mac: string; readonly dst: string | undefined; readonly state: string }[];
}

export function kernelPeerEntries(ns: Netns, device = "flannel.1"): PeerEntries {
  const routes = ns.ipJson<{ dst: string; gateway?: string; flags: string[] }[]>("-4", "route", "show", "dev", device);
  const neighbours = ns.ipJson<{ dst: string; lladdr?: string; state: string[] }[]>(
    "-4",
    "neigh",
    "show",
    "dev",
    device,
    "nud",
    "all",
  );
  const fdb = ns.bridgeJson<{ mac: string; dst?: string; state: string }[]>("fdb", "show", "dev", device);
  return sorted({
    routes: routes.map((r) => ({ dst: r.dst, gateway: r.gateway, onlink: r.flags.includes("onlink") })),
    neighbours: neighbours.map((n) => ({ dst: n.dst, lladdr: n.lladdr, state: n.state.join(",") })),
    fdb: fdb.map((e) => ({ mac: e.mac, dst: e.dst, state: e.state })),
  });
}

/** What a node's kernel must hold for `peers`: flannel's route, permanent neighbour and FDB entry each. */
export function wantedPeerEntries(
  peers: readonly { readonly subnet: string; readonly vtepMac: string; readonly publicIp: string }[],
): PeerEntries {
  const network = (subnet: string) => new IPCIDR(subnet).start<string>();
  return sorted({
    routes: peers.map((p) => ({ dst: p.subnet, gateway: network(p.subnet), onlink: true })),
    neighbours: peers.map((p) => ({ dst: network(p.subnet), lladdr: p.vtepMac, state: "PERMANENT" })),
    fdb: peers.map((p) => ({ mac: p.vtepMac, dst: p.publicIp, state: "permanent" })),
  });
}

/** Entries in one order, so that two readings compare equal when they hold the same entries. */
function sorted(entries: PeerEntries): PeerEntries {
  const by =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  return {
    routes: [...entries.routes].sort(by((r) => r.dst)),
    neighbours: [...entries.neighbours].sort(by((n) => n.dst)),
    fdb: [...entries.fdb].sort(by((e) => e.mac)),
  };
}

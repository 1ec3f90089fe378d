// The two sides of the throughput benchmark, each a cluster of two nodes on an underlay bridge
// (test/helpers/cluster.ts), with two pods on the first node and one on the second:
//
// - the product: `tscni agent` on each node (the compiled binary, the file lease store) builds the
//   VXLAN overlay, and kube-flannel's conflist (flannel -> bridge -> host-local, all ours, one
//   process) makes the pods through the libcni driver, from the node's subnet.env. Masquerade is off
//   on both ends (the agent's default, and `ipMasq: false` in the delegate): it is a policy with
//   connection tracking that the hand-made side has no counterpart for;
// - by hand: the same topology made with `ip` and `bridge`: a VXLAN device with static neighbour,
//   FDB and route entries at the same MTU, and pods on a bridge with a veth pair each.

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Cluster, type ClusterNode, eventually, Pod } from "../../test/helpers/cluster";
import { DriverWorkspace } from "../../test/helpers/driver";
import { TestNetns } from "../../test/helpers/netns";
import { runOk } from "../../test/helpers/run";
import { BUILT_BINARY, suiteDir } from "../../test/helpers/suite";

/** A client pod, a server pod, and every namespace traffic between them may cross. */
export interface PodPair {
  readonly label: string;
  readonly client: Pod;
  readonly server: Pod;
  readonly namespaces: readonly TestNetns[];
}

export interface PodCluster {
  readonly label: string;
  /** Pod 1 of node 1 to the pod of node 2. */
  readonly acrossNodes: PodPair;
  /** Pod 1 to pod 2, both on node 1. */
  readonly onOneNode: PodPair;
  /** The MTUs on the path, for the report. */
  readonly mtus: string;
  destroy(): void;
}

const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };

const linkMtu = (ns: TestNetns, device: string): number =>
  ns.ipJson<{ mtu: number }[]>("link", "show", device)[0]?.mtu ?? NaN;

function pairsOf(label: string, cluster: Cluster, pods: readonly Pod[]) {
  const [a, b, c] = pods;
  const namespaces = [cluster.underlay, ...cluster.nodes.map((n) => n.ns), ...pods.map((p) => p.ns)];
  if (a === undefined || b === undefined || c === undefined) throw new Error(`${label}: pods missing`);
  return {
    acrossNodes: { label: `${label}, across nodes`, client: a, server: c, namespaces },
    onOneNode: { label: `${label}, on one node`, client: a, server: b, namespaces },
  };
}

async function waitUntilReachable(label: string, from: Pod, to: Pod): Promise<void> {
  if (!(await eventually(() => from.ping(to.ip, { timeoutSeconds: 1 }), 20_000, 200))) {
    throw new Error(`${label}: ${to.ip} is unreachable from ${from.ip}`);
  }
}

/** kube-flannel's conflist (kube-flannel.yml, without portmap), masquerade off, for one node. */
function flannelConflist(network: string, subnetFile: string, dataDir: string) {
  const delegate = { hairpinMode: true, isDefaultGateway: true, ipMasq: false };
  return { cniVersion: "0.3.1", name: network, plugins: [{ type: "flannel", subnetFile, dataDir, delegate }] };
}

/** Nodes of the product: our agent, and pods added by our flannel plugin through the libcni driver. */
class ProductNodes {
  readonly cluster = new Cluster({ underlayPrefix: "192.168.78" });
  private readonly workspace = new DriverWorkspace();
  readonly pods: Pod[] = [];
  private readonly added: { node: ClusterNode; pod: TestNetns; network: string }[] = [];
  private readonly netConf = join(this.cluster.dir, "net-conf.json");

  constructor() {
    writeFileSync(this.netConf, JSON.stringify(NET_CONF));
  }

  /** A node whose agent (the compiled binary, the file lease store) wrote its subnet.env. */
  async addNode(name: string): Promise<ClusterNode> {
    const node = this.cluster.addNode(name);
    node.startAgent(BUILT_BINARY, [
      ...["--net-config-path", this.netConf, "--store", `file:${join(this.cluster.dir, "leases")}`, "--iface", "eth0"],
      ...["--subnet-file", node.subnetFile, "--metrics-address", "", "--log-level", "warn"],
    ]);
    if (!(await eventually(() => existsSync(node.subnetFile), 20_000))) throw new Error(`${name}: no subnet.env`);
    const network = `podnet-${name}`;
    const dataDir = join(this.workspace.root, "flannel", name);
    this.workspace.writeConfig(`${network}.conflist`, flannelConflist(network, node.subnetFile, dataDir));
    return node;
  }

  addPod(node: ClusterNode): Pod {
    const network = `podnet-${node.name}`;
    const ns = TestNetns.create(`${node.name}-pod`, { loUp: true });
    this.added.push({ node, pod: ns, network });
    const result = this.workspace.run(node.ns, "add", network, ns.path, { CNI_PATH: suiteDir() });
    if (result.status !== 0) throw new Error(`flannel ADD failed: ${result.stdout}${result.stderr}`);
    const [address] = ns.ipJson<{ addr_info: { local: string }[] }[]>("-4", "addr", "show", "dev", "eth0");
    const pod = new Pod(ns, address?.addr_info[0]?.local ?? "");
    this.pods.push(pod);
    return pod;
  }

  destroy(): void {
    for (const { node, pod, network } of this.added) {
      this.workspace.run(node.ns, "del", network, pod.path, { CNI_PATH: suiteDir() });
      pod.delete();
    }
    this.workspace.remove();
    this.cluster.destroy();
  }
}

export async function productCluster(): Promise<PodCluster> {
  const nodes = new ProductNodes();
  try {
    const one = await nodes.addNode("tnode1");
    const two = await nodes.addNode("tnode2");
    const pods = [nodes.addPod(one), nodes.addPod(one), nodes.addPod(two)];
    const pairs = pairsOf("tscni", nodes.cluster, pods);
    await waitUntilReachable("tscni", pairs.acrossNodes.client, pairs.acrossNodes.server);
    const mtus = `flannel.1 ${linkMtu(one.ns, "flannel.1")}, pod eth0 ${linkMtu(pods[0]?.ns as TestNetns, "eth0")}`;
    return { label: "tscni", ...pairs, mtus, destroy: () => nodes.destroy() };
  } catch (error: unknown) {
    nodes.destroy();
    throw error;
  }
}

/**
 * A pod as the bridge plugin wires it, at `mtu`. The cluster helper sets the MTU on the veth's
 * node end only; the pod's end gets it here, as the bridge plugin gives it to both ends.
 */
function handMadePod(node: ClusterNode, subnet: string, mtu: number): Pod {
  const pod = node.addPod(subnet, mtu);
  pod.ns.ip("link", "set", "eth0", "mtu", String(mtu));
  return pod;
}

interface HandMadeNode {
  readonly node: ClusterNode;
  readonly subnet: string;
  readonly gateway: string;
  readonly mac: string;
}

/** What the agent does for each node, with `ip` and `bridge`: the device and every peer's entries. */
function wireOverlayByHand(nodes: readonly HandMadeNode[], mtu: number): void {
  for (const self of nodes) {
    const ns = self.node.ns;
    ns.ip(
      ...["link", "add", "vxlan0", "mtu", String(mtu), "address", self.mac, "type", "vxlan", "id", "1"],
      ...["local", self.node.underlayIp, "dev", "eth0", "dstport", "8472", "nolearning"],
    );
    ns.ip("addr", "add", `${self.gateway}/32`, "dev", "vxlan0");
    ns.ip("link", "set", "vxlan0", "up");
    for (const peer of nodes.filter((p) => p !== self)) {
      ns.ip("neigh", "replace", peer.gateway, "lladdr", peer.mac, "dev", "vxlan0", "nud", "permanent");
      runOk("bridge", ["-n", ns.name, "fdb", "replace", peer.mac, "dev", "vxlan0", "dst", peer.node.underlayIp]);
      ns.ip("route", "replace", peer.subnet, "via", peer.gateway, "dev", "vxlan0", "onlink");
    }
  }
}

export async function handMadeCluster(): Promise<PodCluster> {
  const cluster = new Cluster({ underlayPrefix: "192.168.79" });
  try {
    const [one, two] = [1, 2].map((n) => ({
      node: cluster.addNode(`hnode${n}`),
      subnet: `10.244.${n}.0/24`,
      gateway: `10.244.${n}.0`,
      mac: `02:00:00:00:01:0${n}`,
    })) as [HandMadeNode, HandMadeNode];
    const mtu = cluster.mtu - 50;
    wireOverlayByHand([one, two], mtu);
    const pods = [one, one, two].map((n) => handMadePod(n.node, n.subnet, mtu));
    const pairs = pairsOf("by hand", cluster, pods);
    await waitUntilReachable("by hand", pairs.acrossNodes.client, pairs.acrossNodes.server);
    const mtus = `vxlan0 ${linkMtu(one.node.ns, "vxlan0")}, pod eth0 ${linkMtu(pods[0]?.ns as TestNetns, "eth0")}`;
    return { label: "by hand", ...pairs, mtus, destroy: () => cluster.destroy() };
  } catch (error: unknown) {
    cluster.destroy();
    throw error;
  }
}

// The two sides of the throughput benchmark, each a cluster of two nodes on an underlay bridge
// (test/helpers/cluster.ts), with two pods on the first node and one on the second:
//
// - the product: `tscni agent` on each node (the compiled binary, the file lease store, masquerade
//   off as is its default) builds the VXLAN overlay, and our `bridge` plugin, through the libcni
//   driver, makes the pods as flannel's delegate config asks (cni0, gateway, the MTU and subnet of
//   the node's subnet.env, host-local, a route to the cluster network, no ipMasq);
// - by hand: the same topology made with `ip` and `bridge`: a VXLAN device with static neighbour,
//   FDB and route entries at the same MTU, and pods on a bridge with a veth pair each.

import { readFileSync, writeFileSync } from "node:fs";
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

const NETWORK = "10.244.0.0/16";
const NET_CONF = { Network: NETWORK, Backend: { Type: "vxlan" } };

const linkMtu = (ns: TestNetns, device: string): number =>
  ns.ipJson<{ mtu: number }[]>("link", "show", device)[0]?.mtu ?? NaN;

function pairsOf(label: string, cluster: Cluster, pods: readonly TestNetns[], [a, b, c]: Pod[]) {
  const namespaces = [cluster.underlay, ...cluster.nodes.map((n) => n.ns), ...pods];
  if (a === undefined || b === undefined || c === undefined) throw new Error(`${label}: pods missing`);
  return {
    acrossNodes: { label: `${label}, across nodes`, client: a, server: c, namespaces },
    onOneNode: { label: `${label}, on one node`, client: a, server: b, namespaces },
  };
}

/** FLANNEL_SUBNET (as a network) and FLANNEL_MTU of the node's subnet.env, once the agent wrote it. */
function subnetEnv(node: ClusterNode): { subnet: string; mtu: number } | undefined {
  try {
    const text = readFileSync(node.subnetFile, "utf8");
    const prefix = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/24$/m.exec(text)?.[1];
    const mtu = Number(/^FLANNEL_MTU=(\d+)$/m.exec(text)?.[1]);
    return prefix === undefined || !(mtu > 0) ? undefined : { subnet: `${prefix}.0/24`, mtu };
  } catch {
    return undefined;
  }
}

async function waitUntilReachable(label: string, from: Pod, to: Pod): Promise<void> {
  if (!(await eventually(() => from.ping(to.ip, { timeoutSeconds: 1 }), 20_000, 200))) {
    throw new Error(`${label}: ${to.ip} is unreachable from ${from.ip}`);
  }
}

export async function productCluster(): Promise<PodCluster> {
  const cluster = new Cluster({ underlayPrefix: "192.168.78" });
  const workspace = new DriverWorkspace();
  const podNamespaces: TestNetns[] = [];
  const added: { node: ClusterNode; pod: TestNetns; network: string }[] = [];
  const destroy = () => {
    const cniPath = suiteDir();
    for (const { node, pod, network } of added) workspace.run(node.ns, "del", network, pod.path, { CNI_PATH: cniPath });
    for (const pod of podNamespaces) pod.delete();
    workspace.remove();
    cluster.destroy();
  };
  try {
    const netConf = join(cluster.dir, "net-conf.json");
    writeFileSync(netConf, JSON.stringify(NET_CONF));
    const nodes = [cluster.addNode("tnode1"), cluster.addNode("tnode2")];
    for (const node of nodes) {
      node.startAgent(BUILT_BINARY, [
        ...["--net-config-path", netConf, "--store", `file:${join(cluster.dir, "leases")}`, "--iface", "eth0"],
        ...["--subnet-file", node.subnetFile, "--metrics-address", "", "--log-level", "warn"],
      ]);
    }
    const pods: Pod[] = [];
    for (const [index, node] of nodes.entries()) {
      if (!(await eventually(() => subnetEnv(node) !== undefined, 20_000)))
        throw new Error(`${node.name}: no subnet.env`);
      const env = subnetEnv(node) ?? { subnet: "", mtu: 0 };
      const network = `podnet-${node.name}`;
      workspace.writeConfig(`${network}.conflist`, {
        cniVersion: "1.0.0",
        name: network,
        plugins: [
          {
            type: "bridge",
            bridge: "cni0",
            isGateway: true,
            ipMasq: false,
            mtu: env.mtu,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: env.subnet }]],
              routes: [{ dst: NETWORK }],
              dataDir: join(workspace.root, "ipam"),
            },
          },
        ],
      });
      for (let i = 0; i < (index === 0 ? 2 : 1); i++) {
        const pod = TestNetns.create(`${node.name}-pod`, { loUp: true });
        podNamespaces.push(pod);
        const result = workspace.run(node.ns, "add", network, pod.path, { CNI_PATH: suiteDir() });
        if (result.status !== 0) throw new Error(`bridge ADD failed: ${result.stdout}${result.stderr}`);
        added.push({ node, pod, network });
        const address = pod.ipJson<{ addr_info: { local: string }[] }[]>("-4", "addr", "show", "dev", "eth0");
        pods.push(new Pod(pod, address[0]?.addr_info[0]?.local ?? ""));
      }
    }
    const pairs = pairsOf("tscni", cluster, podNamespaces, pods);
    await waitUntilReachable("tscni", pairs.acrossNodes.client, pairs.acrossNodes.server);
    const [first] = nodes;
    const mtus = `flannel.1 ${linkMtu(first?.ns as TestNetns, "flannel.1")}, pod eth0 ${linkMtu(podNamespaces[0] as TestNetns, "eth0")}`;
    return { label: "tscni", ...pairs, mtus, destroy };
  } catch (error: unknown) {
    destroy();
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

export async function handMadeCluster(): Promise<PodCluster> {
  const cluster = new Cluster({ underlayPrefix: "192.168.79" });
  try {
    const nodes = [cluster.addNode("hnode1"), cluster.addNode("hnode2")];
    const mtu = cluster.mtu - 50;
    const plan = nodes.map((node, i) => ({
      node,
      subnet: `10.244.${i + 1}.0/24`,
      gateway: `10.244.${i + 1}.0`,
      mac: `02:00:00:00:01:0${i + 1}`,
    }));
    for (const self of plan) {
      const ns = self.node.ns;
      ns.ip(
        ...["link", "add", "vxlan0", "mtu", String(mtu), "address", self.mac, "type", "vxlan", "id", "1"],
        ...["local", self.node.underlayIp, "dev", "eth0", "dstport", "8472", "nolearning"],
      );
      ns.ip("addr", "add", `${self.gateway}/32`, "dev", "vxlan0");
      ns.ip("link", "set", "vxlan0", "up");
      for (const peer of plan.filter((p) => p !== self)) {
        ns.ip("neigh", "replace", peer.gateway, "lladdr", peer.mac, "dev", "vxlan0", "nud", "permanent");
        runOk("bridge", ["-n", ns.name, "fdb", "replace", peer.mac, "dev", "vxlan0", "dst", peer.node.underlayIp]);
        ns.ip("route", "replace", peer.subnet, "via", peer.gateway, "dev", "vxlan0", "onlink");
      }
    }
    const [one, two] = plan as [(typeof plan)[0], (typeof plan)[0]];
    const pods = [one, one, two].map((p) => handMadePod(p.node, p.subnet, mtu));
    const pairs = pairsOf(
      "by hand",
      cluster,
      pods.map((p) => p.ns),
      pods,
    );
    await waitUntilReachable("by hand", pairs.acrossNodes.client, pairs.acrossNodes.server);
    const mtus = `vxlan0 ${linkMtu(one.node.ns, "vxlan0")}, pod eth0 ${linkMtu(pods[0]?.ns as TestNetns, "eth0")}`;
    return { label: "by hand", ...pairs, mtus, destroy: () => cluster.destroy() };
  } catch (error: unknown) {
    cluster.destroy();
    throw error;
  }
}

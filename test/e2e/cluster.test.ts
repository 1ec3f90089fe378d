// Three nodes on one underlay, `tscni agent` (the compiled binary) in every node namespace, pods
// attached through the real libcni with kube-flannel's conflist (flannel, then the reference
// portmap) reading the subnet.env each agent wrote. Once with the file store the three agents share
// (they are on one host), once with etcd running in the underlay namespace. Every assertion reads
// the kernel with `ip -j` / `bridge -j` inside the node namespaces, or sends ICMP between pods.
//
// The tests of one store share a cluster and run in order; each leaves it whole again.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { once } from "node:events";
import IPCIDR from "ip-cidr";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual as isDeepEqual } from "node:util";

import {
  kernelPeerEntries,
  type OverlayNode,
  OverlayCluster,
  type PeerEntries,
  pingEveryPair,
  wantedPeerEntries,
} from "../../netlab/overlay-cluster";
import type { Netns } from "../../netlab/netns";
import { eventually, type Pod } from "../helpers/cluster";
import { TestEtcd } from "../helpers/etcd";
import { NetlinkMonitor } from "../helpers/netlink-monitor";
import { scratchDir } from "../helpers/suite";
import { suiteOverlayOptions } from "../helpers/suite-overlay";

const UNDERLAY_PREFIX = "192.168.77";
const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };
const ETCD_PREFIX = "/coreos.com/network";
const RECONCILE_SECONDS = 2;
const NODES = 3;
const PODS_PER_NODE = 2;

for (const storeKind of ["file", "etcd"] as const) {
  describe(`three nodes, agents on the ${storeKind} store, pods through libcni with kube-flannel's conflist`, function () {
    let overlay: OverlayCluster;
    let etcd: TestEtcd | undefined;
    let removeLease: (subnet: string) => void;

    before(async () => {
      const dir = scratchDir("overlay");
      const options = suiteOverlayOptions(dir, UNDERLAY_PREFIX, RECONCILE_SECONDS);
      if (storeKind === "file") {
        const storeDir = join(dir, "leases");
        const netConfPath = join(dir, "net-conf.json");
        writeFileSync(netConfPath, JSON.stringify(NET_CONF));
        overlay = new OverlayCluster({ ...options, store: { kind: "file", directory: storeDir }, netConfPath });
        removeLease = (subnet) => rmSync(join(storeDir, "subnets", leaseKey(subnet)));
      } else {
        // etcd listens on the underlay bridge's address; the agents read the config from it, as flanneld does.
        const host = `${UNDERLAY_PREFIX}.1`;
        overlay = new OverlayCluster({ ...options, store: { kind: "etcd", endpoints: [`http://${host}:2379`] } });
        const server = await TestEtcd.start(overlay.cluster.underlay, { host });
        etcd = server;
        server.etcdctl("put", `${ETCD_PREFIX}/config`, JSON.stringify(NET_CONF));
        removeLease = (subnet) => void server.etcdctl("del", `${ETCD_PREFIX}/subnets/${leaseKey(subnet)}`);
      }
      // The agents start together, as nodes booting at once: they race for subnets in one store.
      for (let n = 0; n < NODES; n++) overlay.addNode();
      await Promise.all(overlay.nodes.map((n) => n.startAgent()));
      for (const node of overlay.nodes) for (let p = 0; p < PODS_PER_NODE; p++) node.addPod();
    });

    after(async () => {
      overlay?.destroy();
      await etcd?.stop();
    });

    const node = (index: number): OverlayNode => {
      const found = overlay.nodes[index];
      if (found === undefined) throw new Error(`no node ${index}`);
      return found;
    };

    /** flannel's entries for every other node, built from their namespaces and subnet files. */
    const wantedOn = (self: OverlayNode, except: readonly OverlayNode[] = []): PeerEntries =>
      wantedPeerEntries(
        overlay.nodes
          .filter((peer) => peer !== self && !except.includes(peer))
          .map((peer) => ({ subnet: peer.subnet(), vtepMac: peer.vtepMac(), publicIp: peer.node.underlayIp })),
      );

    const everyNodeHasItsPeers = () => overlay.nodes.every((n) => isDeepEqual(kernelPeerEntries(n.ns), wantedOn(n)));

    const failedPairs = async (pods = overlay.pods) =>
      (await pingEveryPair(pods))
        .filter((result) => !result.ok)
        .map(({ from, to }) => `${from.name} ${from.ip} -> ${to.name} ${to.ip}`);

    it("gives every node its own subnet and every pod an address from its node's subnet", () => {
      expect(new Set(overlay.nodes.map((n) => n.subnet())).size).to.equal(NODES);
      for (const n of overlay.nodes) {
        const subnet = new IPCIDR(n.subnet());
        expect(n.pods.filter((pod) => subnet.contains(pod.ip))).to.have.length(PODS_PER_NODE);
      }
    });

    it("every pod reaches every other pod, on its node and across nodes, at the full pod MTU; each node holds flannel's entries for its peers", async () => {
      expect(await failedPairs()).to.deep.equal([]);
      // The pods' MTU comes from FLANNEL_MTU through the chain: a full-size packet that must not be
      // fragmented (1450 - 20 IP - 8 ICMP) crosses the overlay.
      const [a, b] = [node(0).pods[0], node(2).pods[1]];
      expect(a?.ping(b?.ip ?? "", { size: 1422 }), "1450-byte packets across nodes").to.equal(true);
      for (const n of overlay.nodes) {
        expect(kernelPeerEntries(n.ns), n.name).to.deep.equal(wantedOn(n));
      }
    });

    it("keeps a pod's address on traffic to pods of other nodes, and masquerades traffic leaving the cluster network", async () => {
      const [client, server] = [node(0).pods[0], node(1).pods[0]];
      if (client === undefined || server === undefined) throw new Error("no pods");
      expect(await sourceSeenBy(server.ns, server.ip, client)).to.equal(client.ip);
      // The underlay bridge's address is outside 10.244.0.0/16: seen with the node's underlay address.
      const outside = overlay.cluster.underlay;
      expect(await sourceSeenBy(outside, `${UNDERLAY_PREFIX}.1`, client)).to.equal(node(0).node.underlayIp);
    });

    it("restores a VXLAN device deleted by hand with every peer, and the same MAC", async () => {
      const one = node(0);
      const mac = one.vtepMac();
      const wanted = wantedOn(one);
      const deviceIndex = () => one.ns.ipJson<{ ifindex: number }[]>("link", "show", "flannel.1")[0]?.ifindex;
      const deleted = deviceIndex();
      one.ns.ip("link", "del", "flannel.1");
      const restored = await eventually(
        () => {
          try {
            return isDeepEqual(kernelPeerEntries(one.ns), wanted);
          } catch {
            return false; // no device yet
          }
        },
        2 * RECONCILE_SECONDS * 1000,
      );
      expect(restored, `entries on ${one.name}: ${JSON.stringify(kernelPeerEntries(one.ns))}`).to.equal(true);
      // The agent may recreate the device before a listing right after the delete could miss it: a
      // new interface index is what shows that it was deleted and this is another device.
      expect(deleted).to.be.a("number");
      expect(deviceIndex()).to.not.equal(deleted);
      expect(one.vtepMac()).to.equal(mac);
      expect(await failedPairs()).to.deep.equal([]);
    });

    it("keeps pods connected while an agent is killed (SIGKILL) and after its restart, losing no peer entry", async () => {
      const two = node(1);
      const before = overlay.nodes.map((n) => kernelPeerEntries(n.ns));
      // Every route, neighbour and FDB change on every node, from the kill until a reconcile
      // interval after the restarted agent is ready.
      const monitors: NetlinkMonitor[] = [];
      try {
        for (const n of overlay.nodes) monitors.push(await NetlinkMonitor.start(n.ns));
        const killed = two.agent;
        killed?.kill();
        expect(await killed?.waitForExit()).to.equal(null);
        expect(await failedPairs(), "during the outage").to.deep.equal([]);
        expect(
          overlay.nodes.map((n) => kernelPeerEntries(n.ns)),
          "during the outage",
        ).to.deep.equal(before);

        await two.startAgent();
        await sleep(RECONCILE_SECONDS * 1000 + 500);
      } finally {
        await Promise.all(monitors.map((monitor) => monitor.stop()));
      }
      const deletions = monitors.flatMap((monitor, index) =>
        monitor
          .linesAbout("flannel.1")
          .filter((line) => line.startsWith("Deleted"))
          .map((line) => `${overlay.nodes[index]?.name}: ${line}`),
      );
      expect(deletions).to.deep.equal([]);
      expect(overlay.nodes.map((n) => kernelPeerEntries(n.ns))).to.deep.equal(before);
      expect(await failedPairs(), "after the restart").to.deep.equal([]);
    });

    it("prunes a node whose lease was removed from the store within one reconcile interval; its agent leases again on restart", async () => {
      const three = node(2);
      const others = overlay.nodes.filter((n) => n !== three);
      const subnet = three.subnet();
      const agent = three.agent;

      removeLease(subnet);
      const removedAt = Date.now();
      const pruned = await eventually(
        () => others.every((n) => isDeepEqual(kernelPeerEntries(n.ns), wantedOn(n, [three]))),
        RECONCILE_SECONDS * 1000,
        20,
      );
      expect(pruned, `not pruned ${Date.now() - removedAt} ms after the removal`).to.equal(true);
      // The node itself stops (flanneld does too) and leaves its datapath up.
      expect(await agent?.waitForExit()).to.equal(1);
      expect(agent?.logs).to.contain(`the lease ${leaseKey(subnet)} of this node was removed from the store`);
      expect(kernelPeerEntries(three.ns)).to.deep.equal(wantedOn(three));

      // Restarted, it takes its subnet again (from its subnet.env) and the others add it back.
      await three.startAgent();
      expect(three.subnet()).to.equal(subnet);
      expect(await eventually(everyNodeHasItsPeers, RECONCILE_SECONDS * 1000)).to.equal(true);
      expect(await failedPairs()).to.deep.equal([]);
    });
  });
}

/** The store key of a subnet: "10.244.5.0/24" -> "10.244.5.0-24". */
function leaseKey(subnet: string): string {
  return subnet.replace("/", "-");
}

/** The source address a TCP server at `address` in `serverNs` sees when `client` connects to it. */
async function sourceSeenBy(serverNs: Netns, address: string, client: Pod): Promise<string> {
  const serve =
    "import socket, sys\n" +
    "s = socket.create_server((sys.argv[1], 8080))\n" +
    "print('listening', flush=True)\n" +
    "c, peer = s.accept()\n" +
    "c.sendall(peer[0].encode())\n";
  const server = spawn("ip", ["netns", "exec", serverNs.name, "python3", "-c", serve, address], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [chunk] = (await once(server.stdout, "data")) as [Buffer];
    expect(chunk.toString()).to.contain("listening");
    const connect =
      "import socket, sys\nprint(socket.create_connection((sys.argv[1], 8080), timeout=5).recv(64).decode())";
    const reply = client.ns.exec("python3", ["-c", connect, address], { timeout: 10_000 });
    expect(reply.status, reply.stderr).to.equal(0);
    return reply.stdout.trim();
  } finally {
    server.kill("SIGKILL");
  }
}

// Podman (Debian 12's 4.3, CNI backend) running containers on our plugins, each node a namespace
// the test made and each podman private to its node (test/helpers/podman.ts). A container gets its
// network from our bridge and host-local, and from flannel on a two-node cluster whose agents
// program the VXLAN overlay; `podman run --rm`, `podman stop` of a --rm container and `podman rm`
// each leave the node as it was. The root namespace is compared before and after.

import { expect } from "chai";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { buildBusyboxImage, type BusyboxImage } from "../helpers/busybox-image";
import { Cluster, type ClusterNode, eventually } from "../helpers/cluster";
import { DriverWorkspace } from "../helpers/driver";
import { TestNetns } from "../helpers/netns";
import { bridgePorts, eth0Address, filesIn, masqueradeChains, reservations } from "../helpers/node-state";
import { ping } from "../helpers/ping";
import { PodmanNode } from "../helpers/podman";
import { rootNetnsSnapshot, type RootNetnsSnapshot } from "../helpers/root-netns";
import { shippedFlannelConflist } from "../helpers/shipped-conf";
import { BUILT_BINARY, REFERENCE_PLUGINS, scratchDir, suiteDir } from "../helpers/suite";

/** "10.244.3" of "10.244.3.7/24". */
const subnetPrefix = (address: string): string => /^(\d+\.\d+\.\d+)\.\d+\/24$/.exec(address)?.[1] ?? address;

describe("podman on our plugins", function () {
  this.timeout(120_000);
  let rootBefore: RootNetnsSnapshot;
  let imageDir: string;
  let image: BusyboxImage;

  before(() => {
    rootBefore = rootNetnsSnapshot();
    imageDir = scratchDir("image");
    image = buildBusyboxImage(imageDir);
  });
  after(() => {
    rmSync(imageDir, { recursive: true, force: true });
    expect(rootNetnsSnapshot()).to.deep.equal(rootBefore);
  });

  describe("bridge and host-local on one node", () => {
    let node: TestNetns;
    let podman: PodmanNode;
    let ipamDir: string;

    before(async () => {
      node = TestNetns.create("node", { loUp: true });
      // Our suite only: a plugin podman ran can only be ours.
      podman = await PodmanNode.create(node.path, image, { pluginDirs: [suiteDir()] });
      ipamDir = join(podman.dir, "networks");
      podman.writeNetwork("tscni", {
        cniVersion: "1.0.0",
        plugins: [
          {
            type: "bridge",
            bridge: "cni0",
            isGateway: true,
            ipMasq: true,
            mtu: 1400,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: "10.88.7.0/24" }]],
              dataDir: ipamDir,
              routes: [{ dst: "0.0.0.0/0" }],
            },
          },
        ],
      });
      podman.writeNetwork("tscni-b", {
        cniVersion: "1.0.0",
        plugins: [
          {
            type: "bridge",
            bridge: "cni1",
            ipam: { type: "host-local", ranges: [[{ subnet: "10.88.8.0/24" }]], dataDir: ipamDir },
          },
        ],
      });
    });
    after(async () => {
      await podman?.destroy();
      node?.delete();
    });

    const expectNodeClean = () => {
      expect(reservations(ipamDir, "tscni")).to.deep.equal([]);
      expect(reservations(ipamDir, "tscni-b")).to.deep.equal([]);
      expect(node.ipJson<{ ifname: string }[]>("link", "show", "type", "veth")).to.deep.equal([]);
      expect(masqueradeChains(node)).to.deep.equal([]);
      expect(filesIn(join(podman.cniCacheDir, "results"))).to.deep.equal([]);
      expect(filesIn(podman.netnsDir)).to.deep.equal([]);
    };

    it("podman run --rm: the container has its address, route, MTU and reaches its gateway; nothing is left", () => {
      const result = podman.run(
        "tscni",
        ["--rm"],
        ["sh", "-c", "ip -o -4 addr show dev eth0 && ip -o link show dev eth0 && ip route && ping -c 1 -W 2 10.88.7.1"],
      );
      expect(result.status, result.stderr).to.equal(0);
      expect(eth0Address(result.stdout)).to.match(/^10\.88\.7\.\d+\/24$/);
      expect(result.stdout).to.match(/eth0.* mtu 1400 /);
      expect(result.stdout).to.match(/^default via 10\.88\.7\.1 dev eth0/m);
      expect(result.stdout).to.contain("1 packets received");
      expectNodeClean();
    });

    it("an address and a MAC of the user's choice (CNI_ARGS IP= and MAC=), a second network as eth1; --rm releases both", () => {
      // Interface names given: podman otherwise numbers the networks in map order, which varies.
      const result = podman.run(
        "tscni:ip=10.88.7.50,mac=02:42:ac:11:00:09,interface_name=eth0",
        ["--rm", "--network", "tscni-b:interface_name=eth1"],
        ["sh", "-c", "ip -o -4 addr show && ip -o link show dev eth0"],
      );
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^\d+: eth0\s+inet 10\.88\.7\.50\/24 /m);
      expect(result.stdout).to.match(/^\d+: eth1\s+inet 10\.88\.8\.\d+\/24 /m);
      expect(result.stdout).to.contain("link/ether 02:42:ac:11:00:09 ");
      expectNodeClean();
    });

    it("a detached --rm container: veth, reservation and masquerade while it runs; podman stop removes them", () => {
      const started = podman.run("tscni", ["--rm", "--detach", "--name", "web"], ["sleep", "300"]);
      expect(started.status, started.stderr).to.equal(0);
      const containerId = started.stdout.trim();
      const address = eth0Address(podman.podmanOk("exec", "web", "ip", "-o", "-4", "addr", "show", "dev", "eth0"));
      const ip = address.split("/")[0] ?? "";

      expect(reservations(ipamDir, "tscni")).to.deep.equal([ip]);
      expect(bridgePorts(node, "cni0")).to.have.length(1);
      expect(filesIn(podman.netnsDir)).to.have.length(1);
      // iptables-save quotes the comment: name: \"tscni\" id: \"<container ID>\".
      expect(masqueradeChains(node)).to.have.length(1);
      expect(node.exec("iptables-save", ["-t", "nat"]).stdout).to.contain(`id: \\"${containerId}\\"`);
      expect(ping(node, ip, 2)).to.equal(true);

      const stopped = podman.podman("stop", "--time", "0", "web");
      expect(stopped.status, stopped.stderr).to.equal(0);
      expect(podman.podmanOk("ps", "--all", "--quiet").trim()).to.equal("");
      expectNodeClean();
    });
  });

  describe("two nodes on the VXLAN overlay (tscni agent, kube-flannel's conflist)", () => {
    let cluster: Cluster;
    let node1: ClusterNode;
    let node2: ClusterNode;
    let podman1: PodmanNode;
    let podman2: PodmanNode;
    let workspace: DriverWorkspace;
    let pod: TestNetns;

    /** The shipped kube-flannel conflist with the node's files in the node's directory. */
    const flannelConflist = (node: ClusterNode) =>
      shippedFlannelConflist({
        subnetFile: node.subnetFile,
        dataDir: join(node.dir, "flannel"),
        ipamDataDir: join(node.dir, "networks"),
      });
    /** The node's pod subnet prefix ("10.244.3") from the subnet.env its agent wrote. */
    const subnetOf = (node: ClusterNode) =>
      existsSync(node.subnetFile)
        ? (/^FLANNEL_SUBNET=(\S+)\.1\/24$/m.exec(readFileSync(node.subnetFile, "utf8"))?.[1] ?? "")
        : "";

    before(async () => {
      cluster = new Cluster();
      [node1, node2] = [cluster.addNode(), cluster.addNode()];
      const netConf = join(cluster.dir, "net-conf.json");
      writeFileSync(netConf, JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: "vxlan" } }));
      const agents = [node1, node2].map((n) =>
        n.startAgent(BUILT_BINARY, [
          ...["--net-config-path", netConf, "--store", `file:${join(cluster.dir, "leases")}`],
          ...["--subnet-file", n.subnetFile, "--metrics-address", "", "--ip-masq"],
        ]),
      );
      const routeTo = (n: ClusterNode, other: ClusterNode) =>
        subnetOf(other) !== "" &&
        n.ns
          .ipJson<{ dst: string }[]>("route", "show", "dev", "flannel.1")
          .some((r) => r.dst === `${subnetOf(other)}.0/24`);
      const ready = await eventually(() => {
        try {
          return routeTo(node1, node2) && routeTo(node2, node1);
        } catch {
          return false;
        }
      }, 20_000);
      expect(ready, agents.map((a) => a.logs).join("\n")).to.equal(true);

      const pluginDirs = [suiteDir(), REFERENCE_PLUGINS];
      podman1 = await PodmanNode.create(node1.ns.path, image, { pluginDirs });
      podman2 = await PodmanNode.create(node2.ns.path, image, { pluginDirs });
      podman1.writeNetwork("cbr0", flannelConflist(node1));
      podman2.writeNetwork("cbr0", flannelConflist(node2));

      // A pod on node2 added by the real libcni, as a kubelet's runtime would.
      workspace = new DriverWorkspace();
      workspace.writeConfig("10-flannel.conflist", flannelConflist(node2));
      pod = TestNetns.create("pod", { loUp: true });
      const added = workspace.run(node2.ns, "add", "cbr0", pod.path, { CNI_PATH: pluginDirs.join(":") });
      expect(added.status, added.stderr).to.equal(0);
    });
    after(async () => {
      await podman1?.destroy();
      await podman2?.destroy();
      pod?.delete();
      workspace?.remove();
      cluster?.destroy();
    });

    it("a container on node1 reaches a pod and a container on node2; podman run --rm leaves node1 as it was", () => {
      const started = podman2.run("cbr0", ["--detach", "--name", "peer"], ["sleep", "300"]);
      expect(started.status, started.stderr).to.equal(0);
      const peerIp = eth0Address(podman2.podmanOk("exec", "peer", "ip", "-o", "-4", "addr", "show", "dev", "eth0"));
      const podIp = pod
        .ipJson<{ addr_info: { family: string; local: string }[] }[]>("addr", "show", "dev", "eth0")[0]
        ?.addr_info.find((a) => a.family === "inet")?.local;
      expect(subnetPrefix(peerIp)).to.equal(subnetOf(node2));

      const pings = [podIp, peerIp.split("/")[0]].map((ip) => `ping -c 1 -W 3 ${ip ?? ""}`).join(" && ");
      const result = podman1.run("cbr0", ["--rm"], ["sh", "-c", `ip -o -4 addr show dev eth0 && ${pings}`]);
      expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
      expect(subnetPrefix(eth0Address(result.stdout))).to.equal(subnetOf(node1));
      expect(result.stdout.match(/1 packets received/g)).to.have.length(2);

      // Nothing of the container is left on node1: flannel's saved config, the reservation, the veth.
      expect(filesIn(join(node1.dir, "flannel"))).to.deep.equal([]);
      expect(reservations(join(node1.dir, "networks"), "cbr0")).to.deep.equal([]);
      expect(bridgePorts(node1.ns, "cni0")).to.deep.equal([]);
      expect(filesIn(join(podman1.cniCacheDir, "results"))).to.deep.equal([]);
      expect(filesIn(podman1.netnsDir)).to.deep.equal([]);

      // podman rm on node2 releases the container and keeps the pod.
      const removed = podman2.podman("rm", "--force", "--time", "0", "peer");
      expect(removed.status, removed.stderr).to.equal(0);
      expect(filesIn(join(node2.dir, "flannel"))).to.have.length(1);
      expect(reservations(join(node2.dir, "networks"), "cbr0")).to.deep.equal([podIp]);
      expect(bridgePorts(node2.ns, "cni0")).to.have.length(1);
    });
  });
});

// `tscni agent` as a process in each node's namespace (the compiled binary, the embedded file
// lease store): pods reach each other, a stopped agent leaves the datapath up, a restarted one
// keeps its subnet and MAC, flanneld's environment variables are honoured, cleanup removes it all.

import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Cluster, type ClusterNode, eventually, type Pod } from "../../helpers/cluster";
import { BUILT_BINARY } from "../../helpers/suite";
import { type IpLinkDetails, peerState } from "./fixture";

const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };

describe("agent processes (compiled binary, file lease store)", function () {
  let cluster: Cluster;
  let netConf: string;
  let storeDir: string;

  beforeEach(() => {
    cluster = new Cluster();
    netConf = join(cluster.dir, "net-conf.json");
    writeFileSync(netConf, JSON.stringify(NET_CONF));
    storeDir = join(cluster.dir, "leases");
  });
  afterEach(() => cluster.destroy());

  const agentArgs = (node: ClusterNode, extra: string[] = []) => [
    "--net-config-path",
    netConf,
    "--store",
    `file:${storeDir}`,
    "--subnet-file",
    node.subnetFile,
    "--reconcile-interval",
    "1",
    "--metrics-address",
    "",
    ...extra,
  ];

  const subnetOf = (node: ClusterNode): string => {
    const line = readFileSync(node.subnetFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("FLANNEL_SUBNET="));
    return (line ?? "").slice("FLANNEL_SUBNET=".length).replace(".1/24", ".0/24");
  };

  const startNode = async (node: ClusterNode, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const agent = node.startAgent(BUILT_BINARY, agentArgs(node, extra), env);
    const ready = await eventually(() => {
      try {
        return (
          subnetOf(node) !== "" &&
          node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1")[0]?.flags.includes("UP") === true
        );
      } catch {
        return false;
      }
    });
    expect(ready, `agent on ${node.name} did not become ready:\n${agent.logs}`).to.equal(true);
    return agent;
  };

  it("pods on two nodes reach each other; SIGTERM leaves the datapath up; a restart keeps subnet and MAC", async () => {
    const [one, two] = [cluster.addNode(), cluster.addNode()];
    const agentOne = await startNode(one);
    const agentTwo = await startNode(two);
    const [a, b]: Pod[] = [one.addPod(subnetOf(one)), two.addPod(subnetOf(two))];
    expect(await eventually(() => a?.ping(b?.ip ?? "", { timeoutSeconds: 1 }) === true)).to.equal(true);
    expect(b?.ping(a?.ip ?? "")).to.equal(true);

    const [before] = one.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    const entriesBefore = peerState(one);
    expect(await agentOne.stop("SIGTERM")).to.equal(0);
    expect(peerState(one)).to.deep.equal(entriesBefore);
    expect(a?.ping(b?.ip ?? "")).to.equal(true);

    const subnet = subnetOf(one);
    const restarted = await startNode(one);
    expect(subnetOf(one)).to.equal(subnet);
    expect(one.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1")[0]?.address).to.equal(before?.address);
    expect(a?.ping(b?.ip ?? "")).to.equal(true);
    expect(await restarted.stop("SIGINT")).to.equal(0);
    expect(await agentTwo.stop()).to.equal(0);
  });

  it("repairs a deleted device within a reconcile interval", async () => {
    const [one, two] = [cluster.addNode(), cluster.addNode()];
    await startNode(one);
    await startNode(two);
    const [a, b] = [one.addPod(subnetOf(one)), two.addPod(subnetOf(two))];
    expect(await eventually(() => a.ping(b.ip, { timeoutSeconds: 1 }))).to.equal(true);
    one.ns.ip("link", "del", "flannel.1");
    expect(await eventually(() => a.ping(b.ip, { timeoutSeconds: 1 }), 5_000)).to.equal(true);
  });

  it("takes flags from FLANNELD_* variables as flanneld does", async () => {
    const node = cluster.addNode();
    const agent = await startNode(node, [], { FLANNELD_IFACE: "eth0", FLANNELD_IP_MASQ: "true" });
    expect(readFileSync(node.subnetFile, "utf8")).to.contain("FLANNEL_IPMASQ=true\n");
    expect(await agent.stop()).to.equal(0);
    expect(agent.logs).to.contain('"reason":"--iface eth0"');
  });

  it("fails with a clear message when the underlay interface does not exist", async () => {
    const node = cluster.addNode();
    const agent = node.startAgent(BUILT_BINARY, agentArgs(node, ["--iface", "nope0"]));
    expect(await agent.waitForExit()).to.equal(1);
    expect(agent.logs).to.contain("no interface matches --iface nope0");
  });

  it("installs the overlay rules; cleanup removes them, the device and subnet.env", async () => {
    const node = cluster.addNode();
    const agent = await startNode(node, ["--ip-masq"]);
    const rules = () => node.ns.exec("iptables-save", []).stdout;
    expect(rules()).to.contain("FLANNEL-POSTRTG").and.to.contain("FLANNEL-FWD");
    expect(await agent.stop()).to.equal(0);
    expect(rules(), "stopping leaves the rules").to.contain("FLANNEL-POSTRTG");
    const cleanup = node.ns.exec(BUILT_BINARY, [
      "agent",
      "cleanup",
      "--net-config-path",
      netConf,
      "--subnet-file",
      node.subnetFile,
    ]);
    expect(cleanup.status, cleanup.stderr).to.equal(0);
    expect(node.ns.ipJson<{ ifname: string }[]>("link", "show").map((l) => l.ifname)).to.not.include("flannel.1");
    expect(rules()).to.not.contain("FLANNEL");
    expect(() => readFileSync(node.subnetFile)).to.throw();
  });
});

// Two nodes on one underlay, an agent each (in the test process, sharing an in-memory store):
// pods on one node reach pods on the other across the VXLAN overlay, at the full overlay MTU.

import { expect } from "chai";

import { networkConfig } from "../../helpers/agent-fixtures";
import { Cluster, type Pod } from "../../helpers/cluster";
import { MemoryLeaseStore, type RunningAgent, startAgent } from "./fixture";

describe("agent: two nodes, pods across the overlay", function () {
  let cluster: Cluster;
  const running: RunningAgent[] = [];

  afterEach(async () => {
    for (const agent of running.splice(0)) await agent.stop();
    cluster.destroy();
  });

  async function twoNodes(config = networkConfig(), podMtu?: number): Promise<[Pod, Pod]> {
    cluster = new Cluster();
    const store = new MemoryLeaseStore();
    const pods: Pod[] = [];
    for (const node of [cluster.addNode(), cluster.addNode()]) {
      const agent = await startAgent(node, store, config);
      running.push(agent);
      pods.push(node.addPod(agent.agent.currentLease?.subnet ?? "", podMtu));
    }
    return [pods[0] as Pod, pods[1] as Pod];
  }

  it("pods ping each other across VXLAN, with the largest unfragmented packet the MTU allows", async () => {
    const [a, b] = await twoNodes();
    expect(a.ping(b.ip), `${a.ip} -> ${b.ip}`).to.equal(true);
    expect(b.ping(a.ip), `${b.ip} -> ${a.ip}`).to.equal(true);
    // 1450 (pod MTU = flannel.1 MTU) - 20 (IP) - 8 (ICMP): fits the underlay's 1500 once encapsulated.
    expect(a.ping(b.ip, { size: 1422 })).to.equal(true);
    const node = cluster.nodes[0];
    expect(node?.ns.ipJson<{ dev: string }[]>("route", "get", b.ip)[0]?.dev).to.equal("flannel.1");
  });

  it("pods ping each other over DirectRouting's plain routes", async () => {
    const [a, b] = await twoNodes(networkConfig({ backend: { directRouting: true } }));
    expect(a.ping(b.ip)).to.equal(true);
    expect(b.ping(a.ip)).to.equal(true);
    const node = cluster.nodes[0];
    expect(node?.ns.ipJson<{ dev: string }[]>("route", "get", b.ip)[0]?.dev).to.equal("eth0");
  });

  it("does not carry a packet one byte over the overlay MTU unfragmented (the control)", async () => {
    // Pods one byte above what the overlay carries: the DF echo must fail somewhere on the way.
    const [a, b] = await twoNodes(networkConfig(), 1451);
    expect(a.ping(b.ip)).to.equal(true);
    expect(a.ping(b.ip, { size: 1423, timeoutSeconds: 1 })).to.equal(false);
  });
});

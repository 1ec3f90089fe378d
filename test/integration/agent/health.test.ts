// /healthz, /readyz and /metrics of an agent (served on loopback of the test process's namespace).

import { expect } from "chai";

import { HealthServer } from "../../../agent/health-server";
import { networkConfig } from "../../helpers/agent-fixtures";
import { Cluster } from "../../helpers/cluster";
import { MemoryLeaseStore, type RunningAgent, startAgent } from "./fixture";

describe("agent: health and metrics endpoints", function () {
  let cluster: Cluster;
  let running: RunningAgent | undefined;
  let server: HealthServer | undefined;

  afterEach(async () => {
    await server?.close();
    await running?.stop();
    cluster.destroy();
  });

  it("is healthy at once, ready after start-up, and reports peers, reconcile work and the lease expiry", async () => {
    cluster = new Cluster();
    const node = cluster.addNode();
    const store = new MemoryLeaseStore();
    let ready = false;
    // A server over a not-yet-started agent answers 503 on /readyz.
    const pending = { metrics: new (await import("../../../agent/metrics")).AgentMetrics(), isReady: () => ready };
    server = await HealthServer.listen({ host: "127.0.0.1", port: 0 }, pending);
    const url = (path: string) => `http://127.0.0.1:${server?.address.port}${path}`;
    expect((await fetch(url("/healthz"))).status).to.equal(200);
    expect((await fetch(url("/readyz"))).status).to.equal(503);
    ready = true;
    expect((await fetch(url("/readyz"))).status).to.equal(200);
    expect((await fetch(url("/nope"))).status).to.equal(404);
    await server.close();

    store.put({
      key: "10.244.9.0-24",
      subnet: "10.244.9.0/24",
      attrs: { publicIp: "192.168.77.19", backendType: "vxlan", backendData: { vni: 1, vtepMac: "02:00:00:00:00:09" } },
    });
    running = await startAgent(node, store, networkConfig());
    server = await HealthServer.listen({ host: "127.0.0.1", port: 0 }, running.agent);
    node.ns.ip("neigh", "del", "10.244.9.0", "dev", "flannel.1");
    await running.agent.reconcile();
    const response = await fetch(url("/metrics"));
    expect(response.headers.get("content-type")).to.equal("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const expiry = (running.agent.currentLease?.expiration?.getTime() ?? 0) / 1000;
    expect(text).to.contain('tscni_agent_peers{family="ipv4"} 1\n');
    expect(text).to.contain('tscni_agent_reconcile_additions_total{family="ipv4",kind="neighbour"} 1\n');
    expect(text).to.contain(`tscni_agent_lease_expiration_timestamp_seconds ${expiry}\n`);
    expect(text).to.contain("tscni_agent_ready 1\n");
    expect((await fetch(url("/readyz"))).status).to.equal(200);
  });
});

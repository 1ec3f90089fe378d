// The Prometheus text format of the agent's metrics, and the listen address syntax.

import { expect } from "chai";

import { parseListenAddress } from "../../../agent/health-server";
import { AgentMetrics, Counter } from "../../../agent/metrics";

describe("agent: metrics", () => {
  it("renders HELP, TYPE and labelled samples", () => {
    const metrics = new AgentMetrics();
    metrics.peers.set({ family: "ipv4" }, 2);
    metrics.reconcileAdditions.inc({ family: "ipv4", kind: "route" }, 3);
    metrics.reconcileAdditions.inc({ kind: "route", family: "ipv4" });
    metrics.leaseExpiration.set({}, 1893456000);
    const text = metrics.render();
    expect(text).to.contain(
      '# HELP tscni_agent_peers Remote nodes programmed on the VXLAN device.\n# TYPE tscni_agent_peers gauge\ntscni_agent_peers{family="ipv4"} 2\n',
    );
    expect(text).to.contain('tscni_agent_reconcile_additions_total{family="ipv4",kind="route"} 4\n');
    expect(text).to.contain("# TYPE tscni_agent_reconcile_removals_total counter\n");
    expect(text).to.contain("tscni_agent_lease_expiration_timestamp_seconds 1893456000\n");
    expect(text.endsWith("\n")).to.equal(true);
  });

  it("escapes label values", () => {
    const counter = new Counter("c_total", "help");
    counter.inc({ operation: 'a "b"\\\n' });
    expect(counter.render()[2]).to.equal('c_total{operation="a \\"b\\"\\\\\\n"} 1');
  });

  it("parses listen addresses", () => {
    expect(parseListenAddress("127.0.0.1:9479")).to.deep.equal({ host: "127.0.0.1", port: 9479 });
    expect(parseListenAddress("[::1]:80")).to.deep.equal({ host: "::1", port: 80 });
    expect(parseListenAddress(":9479")).to.deep.equal({ host: "::", port: 9479 });
    expect(() => parseListenAddress("localhost")).to.throw(RangeError);
    expect(() => parseListenAddress("127.0.0.1:70000")).to.throw(RangeError);
  });
});

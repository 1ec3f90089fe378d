import { expect } from "chai";

import { renderMatrix, renderPeerViews } from "../../../demo/render";

describe("demo: rendering", () => {
  const pods = [
    { name: "node1/pod1", ip: "10.244.1.2" },
    { name: "node2/pod1", ip: "10.244.22.2" },
  ];

  it("draws the matrix with names and addresses, · on the diagonal, ✓ and ✗ elsewhere", () => {
    const lines = renderMatrix(pods, (from, to) => !(from.ip === "10.244.22.2" && to.ip === "10.244.1.2"));
    expect(lines).to.deep.equal([
      "                         node1/pod1    node2/pod1",
      "from \\ to                10.244.1.2    10.244.22.2",
      "node1/pod1  10.244.1.2        ·             ✓",
      "node2/pod1  10.244.22.2       ✗             ·",
    ]);
  });

  it("lists each node's leased peers with the kernel's entries, the agent's count and stale entries", () => {
    const lines = renderPeerViews([
      {
        node: "node1",
        subnet: "10.244.1.0/24",
        peers: [
          {
            node: "node2",
            subnet: "10.244.22.0/24",
            publicIp: "192.168.77.12",
            vtepMac: "02:00:00:00:00:02",
            route: true,
            neighbour: false,
            fdb: true,
          },
        ],
        stale: ["route 10.244.9.0/24"],
        reportedPeers: undefined,
      },
    ]);
    expect(lines).to.deep.equal([
      "node1  10.244.1.0/24  leased peers 1, programmed 0, agent's /metrics tscni_agent_peers no answer",
      "  node2  10.244.22.0/24     at 192.168.77.12   vtep 02:00:00:00:00:02  route ✓  neighbour ✗  fdb ✓",
      "  stale: route 10.244.9.0/24 (no lease)",
    ]);
  });
});

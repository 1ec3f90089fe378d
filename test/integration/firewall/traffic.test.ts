// Real traffic through the rules: a pod behind a bridge reaches peers, and the address each peer
// sees shows whether the packet was masqueraded. See topology.ts for the namespaces.

import { expect } from "chai";

import { ADDRESSES, Topology } from "./topology";
import { firewallOk } from "./support";
import type { Operation } from "./entry";

const FAMILIES = [4, 6] as const;
const target = { network: "trafficnet", containerId: "ctr-traffic", ifName: "eth0" };
const overlay = (backend: "iptables" | "nftables", forward = true): Operation => ({
  op: "ensureOverlay",
  config: {
    backend,
    ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.244.1.0/24" },
    ipv6: { clusterNetwork: "fd10::/56", nodeSubnet: "fd10:0:0:1::/64" },
    masquerade: true,
    forward,
    randomFully: true,
  },
});

describe("firewall: traffic through the rules", function () {
  this.timeout(60_000);
  let net: Topology;
  beforeEach(async () => {
    net = await Topology.create();
  });
  afterEach(() => net.delete());

  const seen = (peer: "outside" | "remote") => FAMILIES.map((family) => net.seenBy(peer, family));

  for (const backend of ["iptables", "nftables"] as const) {
    it(`container masquerade (${backend}): peers outside the pod subnet see the node, until teardown`, () => {
      expect(seen("outside")).to.deep.equal([ADDRESSES.pod[4], ADDRESSES.pod[6]]);
      firewallOk(net.host, [{ op: "setup", backend, target: { ...target, ips: ADDRESSES.podCidrs } }]);
      expect(seen("outside")).to.deep.equal([ADDRESSES.hostToOutside[4], ADDRESSES.hostToOutside[6]]);
      expect(seen("remote")).to.deep.equal([ADDRESSES.hostToRemote[4], ADDRESSES.hostToRemote[6]]);
      firewallOk(net.host, [{ op: "teardown", target: { ...target, ips: [] } }]);
      expect(seen("outside")).to.deep.equal([ADDRESSES.pod[4], ADDRESSES.pod[6]]);
    });

    it(`overlay rules (${backend}): traffic leaving the cluster network is masqueraded, pod to pod is not`, () => {
      firewallOk(net.host, [overlay(backend)]);
      expect(seen("outside")).to.deep.equal([ADDRESSES.hostToOutside[4], ADDRESSES.hostToOutside[6]]);
      expect(seen("remote")).to.deep.equal([ADDRESSES.pod[4], ADDRESSES.pod[6]]);
      firewallOk(net.host, [{ op: "removeOverlay" }]);
      expect(seen("outside")).to.deep.equal([ADDRESSES.pod[4], ADDRESSES.pod[6]]);
    });
  }

  it("overlay forward rules (iptables) let pod traffic through a FORWARD policy of DROP", () => {
    for (const tool of ["iptables", "ip6tables"])
      expect(net.host.exec(tool, ["-P", "FORWARD", "DROP"]).status).to.equal(0);
    expect(FAMILIES.map((family) => net.seenBy("remote", family, 1000))).to.deep.equal(["timeout", "timeout"]);
    firewallOk(net.host, [overlay("iptables")]);
    expect(seen("remote")).to.deep.equal([ADDRESSES.pod[4], ADDRESSES.pod[6]]);
    firewallOk(net.host, [overlay("iptables", false)]);
    expect(FAMILIES.map((family) => net.seenBy("remote", family, 1000))).to.deep.equal(["timeout", "timeout"]);
  });
});

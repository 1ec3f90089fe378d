// vlan, vlanTrunk and preserveDefaultVlan: the host end's VLANs as `bridge -j vlan show` reports them,
// the gateway interface of a VLAN network, and isolation between VLANs. Kernels built without
// CONFIG_BRIDGE_VLAN_FILTERING cannot do any of it: there the ADD must fail and leave nothing.

import { expect } from "chai";

import { portVlans, vlanFilteringSupported } from "../../../helpers/bridge-vlans";
import { ping } from "../../../helpers/ping";
import { useBridgeNode } from "./fixture";

describe("bridge VLANs (compiled binary)", () => {
  const fixture = useBridgeNode();

  describe("on a kernel without VLAN filtering", () => {
    beforeEach(function () {
      if (vlanFilteringSupported(fixture.node.host)) this.skip();
    });

    it("fails to make the bridge and leaves nothing behind", () => {
      const { node } = fixture;
      const pod = node.pod();
      const reply = node.add(pod, node.config({ vlan: 100 }));
      expect(reply.status).to.equal(1);
      expect(String(reply.json?.["msg"])).to.contain('failed to create bridge "cni0"');
      expect(node.reservations()).to.deep.equal([]);
      expect(node.hostVeths()).to.deep.equal([]);
    });
  });

  describe("on a kernel with VLAN filtering", () => {
    beforeEach(function () {
      if (!vlanFilteringSupported(fixture.node.host)) this.skip();
    });

    it("vlan: the port's access VLAN (PVID, untagged) on a VLAN-filtering bridge; VLAN 1 kept by default", () => {
      const { node } = fixture;
      const result = node.addOk(node.pod(), node.config({ vlan: 100, isGateway: false }));
      expect(node.link("cni0").linkinfo?.info_data?.["vlan_filtering"]).to.equal(1);
      expect(portVlans(node.host, result.interfaces[1]?.name ?? "")).to.deep.equal([
        [1, ["Egress Untagged"]],
        [100, ["Egress Untagged", "PVID"]],
      ]);
    });

    it("preserveDefaultVlan false: only the access VLAN", () => {
      const { node } = fixture;
      const result = node.addOk(node.pod(), node.config({ vlan: 100, preserveDefaultVlan: false, isGateway: false }));
      expect(portVlans(node.host, result.interfaces[1]?.name ?? "")).to.deep.equal([
        [100, ["Egress Untagged", "PVID"]],
      ]);
    });

    it("vlanTrunk: tagged VLANs, with VLAN 1 as the native one", () => {
      const { node } = fixture;
      const config = node.config({
        vlanTrunk: [{ minID: 200, maxID: 202 }, { id: 300 }],
        preserveDefaultVlan: false,
        isGateway: false,
      });
      const result = node.addOk(node.pod(), config);
      expect(portVlans(node.host, result.interfaces[1]?.name ?? "")).to.deep.equal([
        [1, ["Egress Untagged", "PVID"]],
        [200, []],
        [201, []],
        [202, []],
        [300, []],
      ]);
    });

    it("turns VLAN filtering on for an existing bridge that lacks it", () => {
      const { node } = fixture;
      node.host.ip("link", "add", "cni0", "type", "bridge");
      node.addOk(node.pod(), node.config({ vlan: 100, isGateway: false }));
      expect(node.link("cni0").linkinfo?.info_data?.["vlan_filtering"]).to.equal(1);
    });

    it("with isGateway, the gateway lives on <bridge>.<vlan>, in the VLAN, reported after the container", () => {
      const { node } = fixture;
      const [a, b] = [node.pod(), node.pod()];
      const config = node.config({ vlan: 100 });
      const result = node.addOk(a, config);
      node.addOk(b, config);
      expect(result.interfaces.map((i) => i.name)).to.have.length(4);
      expect(result.interfaces[3]?.name).to.equal("cni0.100");
      expect(node.addresses("cni0.100")).to.deep.equal(["10.22.0.1/24"]);
      expect(node.addresses("cni0")).to.deep.equal([]);
      // Its peer is the bridge port that carries the VLAN.
      const gatewayPort = node.link("cni0.100").link ?? "";
      expect(node.link(gatewayPort).master).to.equal("cni0");
      expect(portVlans(node.host, gatewayPort)).to.deep.include([100, ["Egress Untagged", "PVID"]]);
      expect(ping(a.ns, "10.22.0.1"), "pod -> gateway").to.equal(true);
      expect(ping(a.ns, "10.22.0.3"), "pod -> pod").to.equal(true);
    });

    it("keeps pods of different VLANs apart", () => {
      const { node } = fixture;
      const [a, b] = [node.pod(), node.pod()];
      node.addOk(a, node.config({ vlan: 100, isGateway: false }));
      node.addOk(b, node.config({ vlan: 200, isGateway: false }));
      expect(ping(a.ns, "10.22.0.3", 0.5)).to.equal(false);
    });
  });
});

// A failed ADD leaves nothing behind: every failure below is real (no test hooks in the plugin), and
// after each one there is no veth, no reservation, no firewall rule, and the pod has only lo.

import { expect } from "chai";

import { type BridgeNode, type Pod, useBridgeNode } from "./fixture";

describe("bridge ADD rollback (compiled binary)", () => {
  const fixture = useBridgeNode();

  const expectNothingLeft = (node: BridgeNode, pod: Pod) => {
    expect(
      node.hostVeths().map((l) => l.ifname),
      "host veths",
    ).to.deep.equal([]);
    expect(node.reservations(), "reservations").to.deep.equal([]);
    expect(
      pod.ns.ipJson<{ ifname: string }[]>("link").map((l) => l.ifname),
      "pod links",
    ).to.deep.equal(["lo"]);
  };

  it("IPAM fails (its plugin does not exist): the veth is deleted", () => {
    const { node } = fixture;
    const pod = node.pod();
    const reply = node.add(pod, node.config({ ipam: { type: "no-such-ipam" } }));
    expect(reply.status).to.equal(1);
    expect(String(reply.json?.["msg"])).to.contain('failed to find plugin "no-such-ipam"');
    expectNothingLeft(node, pod);
  });

  it("IPAM fails (its range is exhausted): the veth is deleted, the other pod is untouched", () => {
    const { node } = fixture;
    const config = node.config({
      ipam: {
        type: "host-local",
        subnet: "10.22.0.0/24",
        rangeStart: "10.22.0.2",
        rangeEnd: "10.22.0.2",
        dataDir: node.dataDir,
      },
    });
    const first = node.pod();
    node.addOk(first, config);
    const second = node.pod();
    const reply = node.add(second, config);
    expect(reply.status).to.equal(1);
    expect(node.reservations()).to.deep.equal(["10.22.0.2"]);
    expect(node.hostVeths()).to.have.length(1);
    expect(second.ns.ipJson<{ ifname: string }[]>("link").map((l) => l.ifname)).to.deep.equal(["lo"]);
  });

  it("the bridge has another gateway address: the reservation is released and the veth deleted", () => {
    const { node } = fixture;
    node.host.ip("link", "add", "cni0", "type", "bridge");
    node.host.ip("addr", "add", "10.99.0.1/24", "dev", "cni0");
    const pod = node.pod();
    const reply = node.add(pod, node.config());
    expect(reply.json?.["msg"]).to.equal('"cni0" already has an IP address different from 10.22.0.1/24');
    expectNothingLeft(node, pod);
    expect(node.addresses("cni0")).to.deep.equal(["10.99.0.1/24"]);
  });

  it("a route cannot be added (its gateway is unreachable): the reservation is released and the veth deleted", () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = node.config({
      ipam: {
        type: "host-local",
        subnet: "10.22.0.0/24",
        dataDir: node.dataDir,
        routes: [{ dst: "192.0.2.0/24", gw: "203.0.113.1" }],
      },
    });
    const reply = node.add(pod, config);
    expect(reply.status).to.equal(1);
    expect(String(reply.json?.["msg"])).to.contain("failed to add route '192.0.2.0/24 via 203.0.113.1 dev eth0'");
    expectNothingLeft(node, pod);
  });

  it("the pod already has an interface of that name: IPAM is released, nothing else is made", () => {
    const { node } = fixture;
    const pod = node.pod();
    pod.ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
    const reply = node.add(pod, node.config());
    expect(reply.json?.["msg"]).to.equal("container veth name provided (eth0) already exists");
    expect(node.hostVeths()).to.deep.equal([]);
    expect(node.reservations()).to.deep.equal([]);
  });

  it("the spoof-check rules cannot be installed (no nft): the veth is deleted, the reservation released", () => {
    const { node } = fixture;
    const pod = node.pod();
    // nft lives in /usr/sbin, which this PATH leaves out.
    const reply = node.add(pod, node.config({ macspoofchk: true }), { PATH: "/usr/bin:/bin" });
    expect(reply.status).to.equal(1);
    expectNothingLeft(node, pod);
  });
});

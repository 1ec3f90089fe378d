// Handle link verbs against the kernel, checked with `ip -j link` inside namespaces the tests make.

import { expect } from "chai";

import { isNetlinkError, LinkNotFoundError } from "../../../native/netlink/errors";
import { run } from "../../helpers/run";
import { type IpLink, thrown, useNetns } from "./fixture";

describe("Handle: links", () => {
  const host = useNetns("links");
  const ipLink = (name: string, ns = host.ns): IpLink => {
    const [link] = ns.ipJson<IpLink[]>("-d", "link", "show", "dev", name);
    if (link === undefined) throw new Error(`ip shows no link ${name}`);
    return link;
  };
  const hasLink = (name: string, ns = host.ns): boolean => ns.ipJson<IpLink[]>("link").some((l) => l.ifname === name);

  describe("lookups", () => {
    it("gets a link by name and by index, as ip reports it", () => {
      host.ns.ip("link", "add", "br0", "type", "bridge");
      const oracle = ipLink("br0");
      const byName = host.handle.linkByName("br0");
      expect(byName).to.include({ index: oracle.ifindex, name: "br0", mtu: oracle.mtu, mac: oracle.address });
      expect(byName.kind).to.equal("bridge");
      expect(host.handle.linkByIndex(oracle.ifindex)).to.deep.equal(byName);
      const lo = host.handle.linkByName("lo");
      expect(lo).to.include({ kind: "device", index: 1, up: true, mac: "00:00:00:00:00:00" });
    });

    it("lists every link of the namespace, and only those", () => {
      host.ns.ip("link", "add", "br0", "type", "bridge");
      host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
      const oracle = host.ns.ipJson<IpLink[]>("link").map((l) => [l.ifindex, l.ifname]);
      const listed = host.handle.linkList().map((l) => [l.index, l.name]);
      expect(listed).to.have.deep.members(oracle);
      expect(listed.map(([, name]) => name)).to.have.members(["lo", "br0", "v0", "v1"]);
    });

    it("throws LinkNotFoundError for a missing name or index; findLink gives undefined", () => {
      expect(() => host.handle.linkByName("nope0")).to.throw(LinkNotFoundError, 'link "nope0" not found');
      expect(() => host.handle.linkByIndex(4242)).to.throw(LinkNotFoundError, "link #4242 not found");
      expect(host.handle.findLink("nope0")).to.equal(undefined);
      expect(host.handle.findLink("lo")?.index).to.equal(1);
    });
  });

  describe("creation and deletion", () => {
    it("adds a bridge, up, with an MTU", () => {
      host.handle.linkAdd({ kind: "bridge", name: "cni0", vlanFiltering: false, up: true, mtu: 1400 });
      const oracle = ipLink("cni0");
      expect(oracle.linkinfo?.info_kind).to.equal("bridge");
      expect(oracle.linkinfo?.info_data?.["vlan_filtering"]).to.equal(0);
      expect(oracle.flags).to.include("UP");
      expect(oracle.mtu).to.equal(1400);
      expect(host.handle.linkByName("cni0")).to.include({ kind: "bridge", vlanFiltering: false, up: true, mtu: 1400 });
    });

    it("adds a bridge with VLAN filtering", function () {
      if (
        run("ip", ["-n", host.ns.name, "link", "add", "probe0", "type", "bridge", "vlan_filtering", "1"]).status !== 0
      ) {
        // Kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse it, as they refuse `ip`.
        const error = thrown(() => host.handle.linkAdd({ kind: "bridge", name: "cni0", vlanFiltering: true }));
        expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EOPNOTSUPP"));
        this.skip();
      }
      host.handle.linkAdd({ kind: "bridge", name: "cni0", vlanFiltering: true });
      expect(ipLink("cni0").linkinfo?.info_data?.["vlan_filtering"]).to.equal(1);
      expect(host.handle.linkByName("cni0")).to.include({ kind: "bridge", vlanFiltering: true });
    });

    it("adds a vxlan device with the settings flannel uses", () => {
      host.handle.linkAdd({
        kind: "vxlan",
        name: "flannel.1",
        vni: 42,
        local: "10.1.0.1",
        underlayIndex: 1,
        port: 4789,
        learning: false,
        gbp: true,
        ttl: 16,
      });
      const data = ipLink("flannel.1").linkinfo?.info_data;
      expect(ipLink("flannel.1").linkinfo?.info_kind).to.equal("vxlan");
      expect(data).to.include({
        id: 42,
        local: "10.1.0.1",
        link: "lo",
        port: 4789,
        learning: false,
        gbp: true,
        ttl: 16,
      });
      expect(host.handle.linkByName("flannel.1")).to.include({
        kind: "vxlan",
        vni: 42,
        local: "10.1.0.1",
        underlayIndex: 1,
        port: 4789,
        learning: false,
        gbp: true,
      });
    });

    it("adds a dummy device", function () {
      const probe = run("ip", ["-n", host.ns.name, "link", "add", "probe0", "type", "dummy"]);
      if (probe.status !== 0) {
        // Kernels built without CONFIG_DUMMY; the handle reports that as the kernel does.
        const error = thrown(() => host.handle.linkAdd({ kind: "dummy", name: "dummy0" }));
        expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EOPNOTSUPP"));
        this.skip();
      }
      host.handle.linkAdd({ kind: "dummy", name: "dummy0", mtu: 9000 });
      expect(ipLink("dummy0").linkinfo?.info_kind).to.equal("dummy");
      expect(host.handle.linkByName("dummy0")).to.include({ kind: "other", infoKind: "dummy", mtu: 9000 });
    });

    it("fails with EEXIST when the name is taken", () => {
      host.handle.linkAdd({ kind: "bridge", name: "br0" });
      const error = thrown(() => host.handle.linkAdd({ kind: "bridge", name: "br0" }));
      expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EEXIST"));
      expect(error).to.include({ errno: 17, operation: "linkAdd bridge br0" });
    });

    it("deletes a link (and a veth's peer with it)", () => {
      host.handle.linkAdd({ kind: "veth", name: "v0", peer: { name: "v1" } });
      host.handle.linkDel(host.handle.linkByName("v0").index);
      expect(hasLink("v0")).to.equal(false);
      expect(hasLink("v1")).to.equal(false);
    });
  });

  describe("changes", () => {
    beforeEach(() => {
      host.ns.ip("link", "add", "br0", "type", "bridge");
      host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
    });
    const index = (name: string): number => host.handle.linkByName(name).index;

    it("sets a link up and down", () => {
      host.handle.linkSetUp(index("br0"));
      expect(ipLink("br0").flags).to.include("UP");
      expect(host.handle.linkByName("br0").up).to.equal(true);
      host.handle.linkSetDown(index("br0"));
      expect(ipLink("br0").flags).to.not.include("UP");
      expect(host.handle.linkByName("br0").up).to.equal(false);
    });

    it("enslaves a link to a bridge and releases it", () => {
      host.handle.linkSetMaster(index("v0"), index("br0"));
      expect(ipLink("v0").master).to.equal("br0");
      expect(ipLink("v0").linkinfo?.info_slave_kind).to.equal("bridge");
      expect(host.handle.linkByName("v0")).to.include({ masterIndex: index("br0"), portKind: "bridge" });
      host.handle.linkSetMaster(index("v0"), null);
      expect(ipLink("v0").master).to.equal(undefined);
      expect(host.handle.linkByName("v0").masterIndex).to.equal(undefined);
    });

    it("sets the MTU and the MAC address", () => {
      host.handle.linkSetMtu(index("v0"), 1280);
      host.handle.linkSetMac(index("v0"), "02:11:22:33:44:55");
      expect(ipLink("v0")).to.include({ mtu: 1280, address: "02:11:22:33:44:55" });
      expect(host.handle.linkByName("v0")).to.include({ mtu: 1280, mac: "02:11:22:33:44:55" });
    });

    it("renames a link", () => {
      const before = index("v0");
      host.handle.linkSetName(before, "eth9");
      expect(hasLink("v0")).to.equal(false);
      expect(ipLink("eth9").ifindex).to.equal(before);
    });

    it("sets the bridge port flags hairpin and isolated, and clears them", () => {
      host.handle.linkSetMaster(index("v0"), index("br0"));
      host.handle.linkSetBridgePort(index("v0"), { hairpin: true, isolated: true });
      expect(ipLink("v0").linkinfo?.info_slave_data).to.include({ hairpin: true, isolated: true, learning: true });
      host.handle.linkSetBridgePort(index("v0"), { hairpin: false, learning: false });
      expect(ipLink("v0").linkinfo?.info_slave_data).to.include({ hairpin: false, isolated: true, learning: false });
    });

    it("reports a change to a missing link as ENODEV", () => {
      const error = thrown(() => host.handle.linkSetUp(4242));
      expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "ENODEV"));
    });
  });

  describe("across namespaces", () => {
    const pod = useNetns("pod");

    it("adds a veth pair whose peer is created directly in the other namespace", () => {
      host.handle.linkAdd({
        kind: "veth",
        name: "veth1234",
        mtu: 1450,
        mac: "02:00:00:00:12:34",
        peer: { name: "eth0", netnsPath: pod.ns.path, mtu: 1450, mac: "0a:58:0a:f4:01:05" },
      });
      const hostEnd = ipLink("veth1234");
      const podEnd = ipLink("eth0", pod.ns);
      expect(hostEnd).to.include({ mtu: 1450, address: "02:00:00:00:12:34" });
      expect(podEnd).to.include({ mtu: 1450, address: "0a:58:0a:f4:01:05" });
      expect(hostEnd.link_netnsid, "the peer lives in another namespace").to.be.a("number");
      expect(hasLink("eth0")).to.equal(false);
      const decoded = host.handle.linkByName("veth1234");
      expect(decoded).to.include({ kind: "veth", parentIndex: podEnd.ifindex, linkNetnsId: hostEnd.link_netnsid });
      expect(pod.handle.linkByName("eth0")).to.include({ kind: "veth", parentIndex: hostEnd.ifindex });
    });

    it("moves a link into the other namespace", () => {
      host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
      host.handle.linkSetNetns(host.handle.linkByName("v1").index, pod.ns.path);
      expect(hasLink("v1")).to.equal(false);
      expect(hasLink("v1", pod.ns)).to.equal(true);
      expect(pod.handle.linkByName("v1").kind).to.equal("veth");
      expect(host.handle.linkByName("v0").linkNetnsId).to.be.a("number");
    });
  });
});

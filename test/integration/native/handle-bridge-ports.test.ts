// Handle verbs a bridge plugin needs beyond plain links: several link changes in one request, a veth
// created as a bridge port in one request, and port VLANs, checked with `ip -j` and `bridge -j`.

import { expect } from "chai";

import { isNetlinkError } from "../../../native/netlink/errors";
import { portVlans, vlanFilteringSupported } from "../../helpers/bridge-vlans";
import { TestNetns } from "../../helpers/netns";
import { type IpLink, ipLink, thrown, useNetns } from "./fixture";

describe("Handle: bridge ports", () => {
  const host = useNetns("brports");

  it("linkSet brings a bridge up, promiscuous, with a pinned MAC, in one request", () => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    const index = host.handle.linkByName("br0").index;
    host.handle.linkSet(index, { up: true, promisc: true, mac: "0a:58:0a:f4:00:01", mtu: 1400 });
    const oracle = ipLink(host.ns, "br0");
    expect(oracle.flags).to.include.members(["UP", "PROMISC"]);
    expect(oracle.address).to.equal("0a:58:0a:f4:00:01");
    expect(oracle.mtu).to.equal(1400);
    expect(host.ns.exec("cat", ["/sys/class/net/br0/addr_assign_type"]).stdout.trim()).to.equal("3"); // NET_ADDR_SET

    host.handle.linkSet(index, { promisc: false });
    expect(ipLink(host.ns, "br0").flags).to.include("UP").and.not.include("PROMISC");
  });

  it("linkSet turns VLAN filtering on for an existing bridge (or fails as ip does without kernel support)", () => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    const index = host.handle.linkByName("br0").index;
    if (!vlanFilteringSupported(host.ns)) {
      const error = thrown(() => host.handle.linkSet(index, { bridge: { vlanFiltering: true } }));
      expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EOPNOTSUPP"));
      return;
    }
    host.handle.linkSet(index, { bridge: { vlanFiltering: true } });
    expect(ipLink(host.ns, "br0").linkinfo?.info_data?.["vlan_filtering"]).to.equal(1);
    const bridge = host.handle.linkByName("br0");
    expect(bridge).to.include({ kind: "bridge", vlanFiltering: true, vlanDefaultPvid: 1 });
  });

  it("creates a veth as an up bridge port with its peer in another namespace, in one request", () => {
    const pod = TestNetns.create("brports-pod");
    try {
      host.ns.ip("link", "add", "br0", "type", "bridge");
      const bridge = host.handle.linkByName("br0").index;
      host.handle.linkAdd({
        kind: "veth",
        name: "veth0a1b2c3d",
        mac: "0a:00:00:00:00:01",
        masterIndex: bridge,
        up: true,
        peer: { name: "eth0", mac: "0a:00:00:00:00:02", netnsPath: pod.path },
      });
      const port = ipLink(host.ns, "veth0a1b2c3d");
      expect(port.master).to.equal("br0");
      expect(port.flags).to.include("UP");
      expect(port.address).to.equal("0a:00:00:00:00:01");
      expect(ipLink(pod, "eth0").address).to.equal("0a:00:00:00:00:02");
      expect(host.handle.linkByName("veth0a1b2c3d").parentIndex).to.equal(ipLink(pod, "eth0").ifindex);

      // A master that does not exist undoes the whole creation: no half-made pair is left behind.
      const error = thrown(() =>
        host.handle.linkAdd({
          kind: "veth",
          name: "veth99999999",
          masterIndex: 4242,
          peer: { name: "eth1", netnsPath: pod.path },
        }),
      );
      expect(isNetlinkError(error)).to.equal(true);
      expect(host.handle.findLink("veth99999999")).to.equal(undefined);
      expect(pod.ipJson<IpLink[]>("link").map((l) => l.ifname)).to.not.include("eth1");
    } finally {
      pod.delete();
    }
  });

  it("adds and removes port VLANs: a PVID, a range, then the default VLAN removed", function () {
    if (!vlanFilteringSupported(host.ns)) {
      host.ns.ip("link", "add", "br0", "type", "bridge");
      host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
      host.ns.ip("link", "set", "v0", "master", "br0");
      const error = thrown(() => host.handle.bridgeVlanAdd(host.handle.linkByName("v0").index, [{ vid: 100 }]));
      expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EOPNOTSUPP"));
      this.skip();
    }
    host.ns.ip("link", "add", "br0", "type", "bridge", "vlan_filtering", "1");
    host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
    host.ns.ip("link", "set", "v0", "master", "br0");
    const port = host.handle.linkByName("v0").index;
    host.handle.bridgeVlanAdd(port, [
      { vid: 100, pvid: true, untagged: true },
      { vid: 200, vidEnd: 203 },
    ]);
    host.handle.bridgeVlanDel(port, [{ vid: 1 }]);
    expect(portVlans(host.ns, "v0")).to.deep.equal([
      [100, ["Egress Untagged", "PVID"]],
      [200, []],
      [201, []],
      [202, []],
      [203, []],
    ]);
    host.handle.bridgeVlanDel(port, [{ vid: 1 }]); // already gone: not an error
  });
});

// Which leases are peers of a family's device, and which of them DirectRouting reaches directly.

import { expect } from "chai";

import { type PeerContext, PeerSelector, selectPeers } from "../../../agent/datapath/peers";
import { lease } from "../../helpers/agent-fixtures";

const v4: PeerContext = {
  family: 4,
  network: "10.244.0.0/16",
  vni: 1,
  ownKey: "10.244.1.0-24",
  ownPublicIp: "192.168.1.11",
  directPrefixes: [],
};

describe("agent datapath: peer selection", () => {
  it("makes every other node's lease a peer, in canonical form", () => {
    const other = lease(2, { attrs: { ...lease(2).attrs, backendData: { vni: 1, vtepMac: "02:AB:00:00:00:02" } } });
    const { peers, skipped } = selectPeers([lease(1), other], v4);
    expect(peers).to.deep.equal([
      {
        key: "10.244.2.0-24",
        subnet: "10.244.2.0/24",
        gateway: "10.244.2.0",
        publicIp: "192.168.1.12",
        vtepMac: "02:ab:00:00:00:02",
        direct: false,
      },
    ]);
    expect(skipped).to.deep.equal([{ key: "10.244.1.0-24", reason: "own" }]);
  });

  it("skips leases it cannot reach over this device, saying why", () => {
    const { subnet: _subnet, ...ipv6Only } = lease(7);
    const { peers, skipped } = selectPeers(
      [
        lease(3, { attrs: { publicIp: "192.168.1.13", backendType: "vxlan" } }),
        lease(4, { attrs: { ...lease(4).attrs, backendData: { vni: 2, vtepMac: "02:00:00:00:00:04" } } }),
        lease(5, { key: "10.9.5.0-24", subnet: "10.9.5.0/24" }),
        lease(6, { attrs: { ...lease(6).attrs, publicIp: "192.168.1.11" } }),
        { ...ipv6Only, ipv6Subnet: "fd00::/64" },
        lease(8, { attrs: { ...lease(8).attrs, backendData: { vni: 1, vtepMac: "02:00:00:00:00" } } }),
        lease(9, { attrs: { ...lease(9).attrs, publicIp: "fd00::9" } }),
        lease(10, { subnet: "10.244.10.0" }),
      ],
      v4,
    );
    expect(peers).to.deep.equal([]);
    expect(skipped.map((s) => s.reason)).to.deep.equal([
      "no backend data",
      "vni mismatch",
      "outside network",
      "own",
      "no subnet",
      "malformed",
      "malformed",
      "malformed",
    ]);
  });

  it("routes directly to peers on the underlay's segment when DirectRouting is on", () => {
    const { peers } = selectPeers([lease(2), lease(3, { attrs: { ...lease(3).attrs, publicIp: "10.0.5.13" } })], {
      ...v4,
      directPrefixes: ["192.168.1.0/24"],
    });
    expect(peers.map((p) => [p.key, p.direct])).to.deep.equal([
      ["10.244.2.0-24", true],
      ["10.244.3.0-24", false],
    ]);
  });

  it("takes the IPv6 subnet, address and backend data for the IPv6 device", () => {
    const dual = lease(2, {
      ipv6Subnet: "fd00:10:244:2:0::/64",
      attrs: {
        ...lease(2).attrs,
        publicIpv6: "fd00:1::0:12",
        backendV6Data: { vni: 1, vtepMac: "02:66:00:00:00:02" },
      },
    });
    const { peers } = selectPeers([dual], {
      ...v4,
      family: 6,
      network: "fd00:10:244::/56",
      ownPublicIp: "fd00:1::11",
    });
    expect(peers).to.deep.equal([
      {
        key: "10.244.2.0-24",
        subnet: "fd00:10:244:2::/64",
        gateway: "fd00:10:244:2::",
        publicIp: "fd00:1::12",
        vtepMac: "02:66:00:00:00:02",
        direct: false,
      },
    ]);
  });

  it("keeps each lease's peer across selections, and derives a changed lease again", () => {
    const selector = new PeerSelector(v4);
    const two = lease(2);
    expect(selector.select([lease(1), two]).peers.map((p) => p.vtepMac)).to.deep.equal(["02:00:00:00:00:02"]);
    const moved = lease(2, { attrs: { ...two.attrs, backendData: { vni: 1, vtepMac: "02:00:00:00:00:22" } } });
    const { peers, skipped } = selector.select([lease(1), moved, lease(3, { subnet: "10.9.3.0/24" })]);
    expect(peers.map((p) => p.vtepMac)).to.deep.equal(["02:00:00:00:00:22"]);
    expect(skipped.map((s) => s.reason)).to.deep.equal(["own", "outside network"]);
    expect(selector.select([two]).peers).to.deep.equal(selectPeers([two], v4).peers);
  });
});

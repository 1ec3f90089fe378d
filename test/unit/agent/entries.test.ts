// The pure planning of per-peer entries: what a lease event changes, what a reconcile pass repairs.

import { expect } from "chai";

import { entriesOf, type Entries, isEmptyPlan, NO_ENTRIES, type Peer, plan } from "../../../agent/datapath/entries";

const peerB: Peer = {
  key: "10.244.2.0-24",
  subnet: "10.244.2.0/24",
  gateway: "10.244.2.0",
  publicIp: "192.168.1.12",
  vtepMac: "02:bb:bb:bb:bb:02",
  direct: false,
};
const peerC: Peer = {
  key: "10.244.3.0-24",
  subnet: "10.244.3.0/24",
  gateway: "10.244.3.0",
  publicIp: "10.0.5.13",
  vtepMac: "02:cc:cc:cc:cc:03",
  direct: false,
};

describe("agent datapath: entries and plans", () => {
  it("gives an overlay peer a neighbour, an FDB entry and an onlink route", () => {
    expect(entriesOf([peerB])).to.deep.equal({
      neighbours: [{ ip: "10.244.2.0", mac: "02:bb:bb:bb:bb:02" }],
      fdb: [{ mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.12" }],
      routes: [{ dst: "10.244.2.0/24", gateway: "10.244.2.0", path: "overlay" }],
    });
  });

  it("gives a direct peer only a route via its public address", () => {
    expect(entriesOf([{ ...peerB, direct: true }])).to.deep.equal({
      neighbours: [],
      fdb: [],
      routes: [{ dst: "10.244.2.0/24", gateway: "192.168.1.12", path: "underlay" }],
    });
  });

  it("adds everything into an empty kernel and nothing when it is in place", () => {
    const wanted = entriesOf([peerB, peerC]);
    expect(plan(wanted, NO_ENTRIES)).to.deep.equal({ add: wanted, remove: NO_ENTRIES });
    expect(isEmptyPlan(plan(wanted, wanted))).to.equal(true);
  });

  it("removes all three entries of a peer that is gone", () => {
    const p = plan(entriesOf([peerC]), entriesOf([peerB, peerC]));
    expect(p.add).to.deep.equal(NO_ENTRIES);
    expect(p.remove).to.deep.equal(entriesOf([peerB]));
  });

  it("replaces the neighbour of a peer whose MAC changed and removes the old MAC's FDB entry", () => {
    const moved = { ...peerB, vtepMac: "02:bb:bb:bb:bb:99" };
    const p = plan(entriesOf([moved]), entriesOf([peerB]));
    expect(p.add).to.deep.equal({
      neighbours: [{ ip: "10.244.2.0", mac: "02:bb:bb:bb:bb:99" }],
      fdb: [{ mac: "02:bb:bb:bb:bb:99", dst: "192.168.1.12" }],
      routes: [],
    });
    // The neighbour is replaced in place (same address); the old FDB entry would leak otherwise.
    expect(p.remove).to.deep.equal({
      neighbours: [],
      fdb: [{ mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.12" }],
      routes: [],
    });
  });

  it("moves the FDB entry of a peer whose public address changed", () => {
    const p = plan(entriesOf([{ ...peerB, publicIp: "192.168.1.99" }]), entriesOf([peerB]));
    expect(p.add.fdb).to.deep.equal([{ mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.99" }]);
    expect(p.remove.fdb).to.deep.equal([{ mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.12" }]);
    expect(p.add.neighbours).to.deep.equal([]);
  });

  it("switches a peer between VXLAN and a direct route by replacing the route in place", () => {
    const p = plan(entriesOf([{ ...peerB, direct: true }]), entriesOf([peerB]));
    expect(p.add.routes).to.deep.equal([{ dst: "10.244.2.0/24", gateway: "192.168.1.12", path: "underlay" }]);
    expect(p.remove).to.deep.equal({
      neighbours: entriesOf([peerB]).neighbours,
      fdb: entriesOf([peerB]).fdb,
      routes: [],
    });
  });

  it("repairs drift: a non-permanent neighbour, a wrong route, strays of no lease", () => {
    const observed: Entries = {
      neighbours: [
        { ip: "10.244.2.0", mac: undefined },
        { ip: "10.244.9.0", mac: "02:99:99:99:99:99" },
      ],
      fdb: [
        { mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.12" },
        { mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.77" },
        { mac: "02:99:99:99:99:99", dst: "192.168.1.19" },
      ],
      routes: [
        { dst: "10.244.2.0/24", gateway: "10.244.7.0", path: "overlay" },
        { dst: "10.244.9.0/24", gateway: "", path: "overlay" },
        { dst: "10.244.8.0/24", gateway: "192.168.1.18", path: "underlay" },
      ],
    };
    const p = plan(entriesOf([peerB]), observed);
    expect(p.add).to.deep.equal({
      neighbours: [{ ip: "10.244.2.0", mac: "02:bb:bb:bb:bb:02" }],
      fdb: [],
      routes: [{ dst: "10.244.2.0/24", gateway: "10.244.2.0", path: "overlay" }],
    });
    expect(p.remove).to.deep.equal({
      neighbours: [{ ip: "10.244.9.0", mac: "02:99:99:99:99:99" }],
      fdb: [
        { mac: "02:bb:bb:bb:bb:02", dst: "192.168.1.77" },
        { mac: "02:99:99:99:99:99", dst: "192.168.1.19" },
      ],
      routes: [
        { dst: "10.244.9.0/24", gateway: "", path: "overlay" },
        { dst: "10.244.8.0/24", gateway: "192.168.1.18", path: "underlay" },
      ],
    });
  });
});

// Handle neighbour and FDB verbs against the kernel, checked with `ip -j neigh` and `bridge -j fdb`.

import { expect } from "chai";

import { NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE } from "../../../native/netlink/constants";
import { isNetlinkError } from "../../../native/netlink/errors";
import { type BridgeFdbEntry, type IpNeighbour, thrown, useNetns } from "./fixture";

describe("Handle: neighbours", () => {
  const host = useNetns("neigh");
  let br0: number;

  beforeEach(() => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    host.ns.ip("link", "set", "br0", "up");
    br0 = host.handle.linkByName("br0").index;
  });

  const ipNeighbours = (): IpNeighbour[] =>
    // Without the multicast entries the kernel keeps itself (NOARP).
    host.ns
      .ipJson<IpNeighbour[]>("neigh", "show", "dev", "br0", "nud", "all")
      .filter((n) => !n.state.includes("NOARP"));

  it("sets a permanent IPv4 entry, and replaces its MAC", () => {
    host.handle.neighReplace(br0, { ip: "10.244.1.0", mac: "5e:4a:13:2f:00:01" });
    expect(ipNeighbours()).to.deep.equal([{ dst: "10.244.1.0", lladdr: "5e:4a:13:2f:00:01", state: ["PERMANENT"] }]);
    host.handle.neighReplace(br0, { ip: "10.244.1.0", mac: "5e:4a:13:2f:00:02" });
    expect(ipNeighbours()).to.deep.equal([{ dst: "10.244.1.0", lladdr: "5e:4a:13:2f:00:02", state: ["PERMANENT"] }]);
  });

  it("sets an IPv6 entry with another state", () => {
    host.handle.neighReplace(br0, { ip: "fd00::2", mac: "02:00:00:00:00:02", state: NUD_REACHABLE });
    const [entry] = ipNeighbours();
    expect(entry).to.include({ dst: "fd00::2", lladdr: "02:00:00:00:00:02" });
    expect(entry?.state).to.include("REACHABLE");
  });

  it("lists what ip lists, by link and by family", () => {
    host.ns.ip("link", "add", "br1", "type", "bridge");
    host.ns.ip("link", "set", "br1", "up");
    host.ns.ip("neigh", "replace", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "br0", "nud", "permanent");
    host.ns.ip("neigh", "replace", "fd00::3", "lladdr", "02:00:00:00:00:03", "dev", "br0", "nud", "permanent");
    host.ns.ip("neigh", "replace", "10.1.0.4", "lladdr", "02:00:00:00:00:04", "dev", "br1", "nud", "permanent");
    const ours = (family?: 4 | 6, linkIndex?: number) =>
      host.handle
        .neighList({ ...(family === undefined ? {} : { family }), ...(linkIndex === undefined ? {} : { linkIndex }) })
        .filter((n) => n.state === NUD_PERMANENT)
        .map((n) => [n.ip, n.mac]);
    expect(ours()).to.have.deep.members([
      ["10.0.0.2", "02:00:00:00:00:02"],
      ["fd00::3", "02:00:00:00:00:03"],
      ["10.1.0.4", "02:00:00:00:00:04"],
    ]);
    expect(ours(6)).to.deep.equal([["fd00::3", "02:00:00:00:00:03"]]);
    expect(ours(undefined, br0)).to.have.deep.members([
      ["10.0.0.2", "02:00:00:00:00:02"],
      ["fd00::3", "02:00:00:00:00:03"],
    ]);
    const oracle = host.ns.ipJson<IpNeighbour[]>("neigh", "show", "nud", "all");
    expect(host.handle.neighList().map((n) => n.ip)).to.have.members(oracle.map((n) => n.dst));
  });

  it("deletes an entry; deleting it again fails with ENOENT", () => {
    host.handle.neighReplace(br0, { ip: "10.244.1.0", mac: "5e:4a:13:2f:00:01" });
    host.handle.neighReplace(br0, { ip: "fd00::2", mac: "02:00:00:00:00:02" });
    host.handle.neighDel(br0, "10.244.1.0");
    host.handle.neighDel(br0, "fd00::2");
    expect(ipNeighbours()).to.deep.equal([]);
    const error = thrown(() => host.handle.neighDel(br0, "10.244.1.0"));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "ENOENT"));
  });
});

describe("Handle: forwarding database", () => {
  const host = useNetns("fdb");
  let vx0: number;

  beforeEach(() => {
    host.handle.linkAdd({ kind: "vxlan", name: "vx0", vni: 1, port: 4789, learning: false, local: "192.168.1.10" });
    vx0 = host.handle.linkByName("vx0").index;
  });

  const vxlanFdb = (): BridgeFdbEntry[] =>
    host.ns.bridgeJson<BridgeFdbEntry[]>("fdb", "show", "dev", "vx0").filter((e) => e.dst !== undefined);

  it("appends several remote VTEPs for one MAC (a flood list), with VNI and port", () => {
    host.handle.fdbAppend(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.11" });
    host.handle.fdbAppend(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.12", vni: 100, port: 4790 });
    expect(vxlanFdb()).to.have.deep.members([
      { mac: "00:00:00:00:00:00", dst: "192.168.1.11", flags: ["self"], state: "permanent" },
      { mac: "00:00:00:00:00:00", dst: "192.168.1.12", vni: 100, port: 4790, flags: ["self"], state: "permanent" },
    ]);
    const listed = host.handle.fdbList({ linkIndex: vx0 }).filter((e) => e.dst !== undefined);
    expect(listed.map((e) => [e.mac, e.dst, e.vni, e.port, e.self, e.state])).to.have.deep.members([
      ["00:00:00:00:00:00", "192.168.1.11", undefined, undefined, true, NUD_PERMANENT],
      ["00:00:00:00:00:00", "192.168.1.12", 100, 4790, true, NUD_PERMANENT],
    ]);
  });

  it("appends idempotently, and gives a unicast MAC no second remote (only replace moves it)", () => {
    host.handle.fdbAppend(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.11" });
    host.handle.fdbAppend(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.11" });
    host.handle.fdbAppend(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.12" });
    expect(vxlanFdb()).to.deep.equal([
      { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.11", flags: ["self"], state: "permanent" },
    ]);
  });

  it("replaces the remote VTEP of a MAC (flannel's per-node entry)", () => {
    host.handle.fdbReplace(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.11" });
    host.handle.fdbReplace(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.21" });
    expect(vxlanFdb()).to.deep.equal([
      { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.21", flags: ["self"], state: "permanent" },
    ]);
  });

  it("deletes one remote of a MAC, then the entry", () => {
    host.handle.fdbAppend(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.11" });
    host.handle.fdbAppend(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.12" });
    host.handle.fdbDel(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.11" });
    expect(vxlanFdb().map((e) => e.dst)).to.deep.equal(["192.168.1.12"]);
    host.handle.fdbDel(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.12" });
    expect(vxlanFdb()).to.deep.equal([]);
    const error = thrown(() => host.handle.fdbDel(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.12" }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "ENOENT"));
  });

  it("adds a static entry to a bridge's database through a port (NTF_MASTER)", () => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    host.ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
    host.ns.ip("link", "set", "v0", "master", "br0");
    const v0 = host.handle.linkByName("v0").index;
    host.handle.fdbAppend(v0, { mac: "02:00:00:00:00:05", master: true, state: NUD_NOARP });
    const oracle = host.ns.bridgeJson<BridgeFdbEntry[]>("fdb", "show", "dev", "v0");
    expect(oracle).to.deep.include({ mac: "02:00:00:00:00:05", flags: [], master: "br0", state: "static" });
    const listed = host.handle.fdbList({ linkIndex: v0 }).find((e) => e.mac === "02:00:00:00:00:05");
    expect(listed).to.include({ masterIndex: host.handle.linkByName("br0").index, self: false, state: NUD_NOARP });
    host.handle.fdbDel(v0, { mac: "02:00:00:00:00:05", master: true });
    expect(host.ns.bridgeJson<BridgeFdbEntry[]>("fdb", "show", "dev", "v0").map((e) => e.mac)).to.not.include(
      "02:00:00:00:00:05",
    );
  });

  it("lists what bridge lists", () => {
    host.handle.fdbAppend(vx0, { mac: "00:00:00:00:00:00", dst: "192.168.1.11" });
    host.handle.fdbReplace(vx0, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.12" });
    const oracle = host.ns.bridgeJson<BridgeFdbEntry[]>("fdb", "show").map((e) => [e.mac, e.dst]);
    expect(host.handle.fdbList().map((e) => [e.mac, e.dst])).to.have.deep.members(oracle);
  });
});

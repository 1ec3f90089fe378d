// The agent's datapath on one node, against the kernel: the VXLAN device, the entries of each peer,
// their removal, and reconciliation. Peers are leases put in the store (no other node runs).

import { expect } from "chai";

import { removeDatapath } from "../../../agent/cleanup";
import { LeaseRevokedError } from "../../../agent/daemon";
import { vtepMac } from "../../../agent/datapath/vxlan-device";
import { openHandle } from "../../../native/netlink/handle";
import { lease, networkConfig } from "../../helpers/agent-fixtures";
import { Cluster, type ClusterNode, eventually } from "../../helpers/cluster";
import {
  type IpAddress,
  type IpLinkDetails,
  MemoryLeaseStore,
  peerState,
  type RunningAgent,
  startAgent,
} from "./fixture";

/** A remote node's lease: node n at 192.168.77.(10+n), subnet 10.244.n.0/24. */
const peer = (n: number, mac = `02:00:00:00:00:0${n}`) =>
  lease(n, {
    attrs: { publicIp: `192.168.77.${10 + n}`, backendType: "vxlan", backendData: { vni: 1, vtepMac: mac } },
  });

const triple = (n: number, mac = `02:00:00:00:00:0${n}`) => ({
  neighbour: { dst: `10.244.${n}.0`, lladdr: mac, state: ["PERMANENT"] },
  fdb: { mac, dst: `192.168.77.${10 + n}`, state: "permanent" },
  route: { dst: `10.244.${n}.0/24`, gateway: `10.244.${n}.0`, flags: ["onlink"] },
});

describe("agent datapath (one node, peers from the store)", function () {
  let cluster: Cluster;
  let node: ClusterNode;
  let store: MemoryLeaseStore;
  const running: RunningAgent[] = [];

  beforeEach(() => {
    cluster = new Cluster();
    node = cluster.addNode();
    store = new MemoryLeaseStore();
  });
  afterEach(async () => {
    for (const agent of running.splice(0)) await agent.stop();
    cluster.destroy();
  });

  const start = async (config = networkConfig(), options = {}) => {
    const agent = await startAgent(node, store, config, options);
    running.push(agent);
    return agent;
  };

  it("creates flannel.1 as flannel does: local, dev, port, no learning, MTU - 50, /32, accept_ra 0", async () => {
    const { agent } = await start();
    const [link] = node.ns.ipJson<IpLinkDetails[]>("-d", "link", "show", "flannel.1");
    expect(link?.mtu).to.equal(1450);
    expect(link?.flags).to.include("UP");
    expect(link?.address).to.equal(vtepMac(4, 1, "192.168.77.11"));
    expect(link?.linkinfo.info_kind).to.equal("vxlan");
    expect(link?.linkinfo.info_data).to.include({
      id: 1,
      local: "192.168.77.11",
      link: "eth0",
      port: 8472,
      learning: false,
    });
    expect(link?.linkinfo.info_data).to.not.have.property("gbp");
    const [address] = node.ns.ipJson<IpAddress[]>("addr", "show", "dev", "flannel.1");
    const subnet = agent.currentLease?.subnet ?? "";
    expect(address?.addr_info.filter((a) => a.family === "inet")).to.deep.equal([
      { ...address?.addr_info.find((a) => a.family === "inet"), local: subnet.replace("/24", ""), prefixlen: 32 },
    ]);
    expect(node.ns.sysctl("net.ipv6.conf.flannel/1.accept_ra")).to.equal("0");
    expect(agent.currentLease?.attrs.backendData).to.deep.equal({ vni: 1, vtepMac: link?.address });
  });

  it("takes VNI, port, GBP and learning from the backend config, and Backend.MTU as the underlay's", async () => {
    await start(networkConfig({ backend: { vni: 7, port: 4789, gbp: true, learning: true, mtu: 1400 } }));
    const [link] = node.ns.ipJson<IpLinkDetails[]>("-d", "link", "show", "flannel.7");
    expect(link?.mtu).to.equal(1350);
    expect(link?.linkinfo.info_data).to.include({ id: 7, port: 4789, learning: true, gbp: true });
  });

  it("programs each peer's neighbour, FDB entry and onlink route", async () => {
    store.put(peer(2));
    store.put(peer(3));
    await start();
    const state = peerState(node);
    expect(state.neighbours).to.have.deep.members([triple(2).neighbour, triple(3).neighbour]);
    expect(state.fdb).to.have.deep.members([triple(2).fdb, triple(3).fdb]);
    expect(state.routes).to.have.deep.members([triple(2).route, triple(3).route]);
  });

  it("applies lease events at once: a new peer, a changed MAC (old FDB entry removed), a removed peer", async () => {
    await start();
    store.put(peer(2));
    expect(peerState(node)).to.deep.equal({
      neighbours: [triple(2).neighbour],
      fdb: [triple(2).fdb],
      routes: [triple(2).route],
    });
    store.put(peer(2, "02:00:00:00:00:99"));
    expect(peerState(node)).to.deep.equal({
      neighbours: [triple(2, "02:00:00:00:00:99").neighbour],
      fdb: [triple(2, "02:00:00:00:00:99").fdb],
      routes: [triple(2).route],
    });
    store.drop(peer(2).key);
    expect(peerState(node)).to.deep.equal({ neighbours: [], fdb: [], routes: [] });
  });
});

describe("agent datapath: reconciliation, restarts, DirectRouting, IPv6", function () {
  let cluster: Cluster;
  let node: ClusterNode;
  let store: MemoryLeaseStore;
  const running: RunningAgent[] = [];

  afterEach(async () => {
    for (const agent of running.splice(0)) await agent.stop();
    cluster.destroy();
  });

  const setUp = (options: { ipv6?: boolean } = {}) => {
    cluster = new Cluster(options);
    node = cluster.addNode();
    store = new MemoryLeaseStore();
  };
  const start = async (config = networkConfig(), options = {}) => {
    const agent = await startAgent(node, store, config, options);
    running.push(agent);
    return agent;
  };
  const bridge = (...args: string[]) => node.ns.exec("bridge", args);
  const underlayRoutes = () =>
    node.ns.ipJson<{ dst: string; gateway?: string }[]>("-4", "route", "show", "dev", "eth0");

  it("reconcile restores deleted entries and removes those of no lease, leaving others alone", async () => {
    setUp();
    store.put(peer(2));
    store.put(peer(3));
    const { agent } = await start();
    node.ns.ip("route", "del", "10.244.2.0/24", "dev", "flannel.1");
    node.ns.ip("neigh", "del", "10.244.3.0", "dev", "flannel.1");
    bridge("fdb", "del", "02:00:00:00:00:02", "dev", "flannel.1", "dst", "192.168.77.12", "self");
    // What a node whose lease is gone left behind, and a stale DirectRouting route.
    node.ns.ip("neigh", "replace", "10.244.9.0", "lladdr", "02:00:00:00:00:09", "dev", "flannel.1", "nud", "permanent");
    bridge("fdb", "append", "02:00:00:00:00:09", "dev", "flannel.1", "dst", "192.168.77.19", "self", "permanent");
    node.ns.ip("route", "add", "10.244.9.0/24", "via", "10.244.9.0", "dev", "flannel.1", "onlink");
    node.ns.ip("route", "add", "10.244.8.0/24", "via", "192.168.77.18", "dev", "eth0");
    // Not the overlay's: outside the cluster network.
    node.ns.ip("route", "add", "172.16.0.0/16", "via", "10.244.2.0", "dev", "flannel.1", "onlink");

    await agent.reconcile();

    const state = peerState(node);
    expect(state.neighbours).to.have.deep.members([triple(2).neighbour, triple(3).neighbour]);
    expect(state.fdb).to.have.deep.members([triple(2).fdb, triple(3).fdb]);
    expect(state.routes).to.have.deep.members([
      triple(2).route,
      triple(3).route,
      { dst: "172.16.0.0/16", gateway: "10.244.2.0", flags: ["onlink"] },
    ]);
    expect(underlayRoutes().map((r) => r.dst)).to.not.include("10.244.8.0/24");
    const m = agent.metrics;
    expect(
      ["route", "neighbour", "fdb"].map((kind) => m.reconcileAdditions.value({ family: "ipv4", kind })),
    ).to.deep.equal([1, 1, 1]);
    expect(
      ["route", "neighbour", "fdb"].map((kind) => m.reconcileRemovals.value({ family: "ipv4", kind })),
    ).to.deep.equal([2, 1, 1]);
  });

  it("removes at start-up the entries a previous run left for leases that are gone", async () => {
    setUp();
    store.put(peer(2));
    store.put(peer(3));
    const first = await start();
    await first.stop();
    running.splice(0);
    store.drop(peer(3).key);
    await start();
    expect(peerState(node)).to.deep.equal({
      neighbours: [triple(2).neighbour],
      fdb: [triple(2).fdb],
      routes: [triple(2).route],
    });
  });

  it("recreates a deleted device with its address and MAC and replays every peer", async () => {
    setUp();
    store.put(peer(2));
    store.put(peer(3));
    const { agent } = await start();
    const [before] = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    node.ns.ip("link", "del", "flannel.1");
    await agent.reconcile();
    const [after] = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    expect(after?.address).to.equal(before?.address);
    expect(after?.flags).to.include("UP");
    const [address] = node.ns.ipJson<IpAddress[]>("-4", "addr", "show", "dev", "flannel.1");
    expect(address?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal([
      (agent.currentLease?.subnet ?? "").replace("/24", "/32"),
    ]);
    const state = peerState(node);
    expect(state.neighbours).to.have.deep.members([triple(2).neighbour, triple(3).neighbour]);
    expect(state.fdb).to.have.deep.members([triple(2).fdb, triple(3).fdb]);
    expect(state.routes).to.have.deep.members([triple(2).route, triple(3).route]);
    expect(agent.metrics.deviceRecreations.value({ family: "ipv4" })).to.equal(2);
  });

  it("brings a device that was set down back up, with its address", async () => {
    setUp();
    store.put(peer(2));
    const { agent } = await start();
    node.ns.ip("link", "set", "flannel.1", "down");
    node.ns.ip("addr", "flush", "dev", "flannel.1");
    await agent.reconcile();
    const [link] = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    expect(link?.flags).to.include("UP");
    const [address] = node.ns.ipJson<IpAddress[]>("-4", "addr", "show", "dev", "flannel.1");
    expect(address?.addr_info.map((a) => a.local)).to.deep.equal([
      (agent.currentLease?.subnet ?? "").replace(".0/24", ".0"),
    ]);
    // Setting the link down dropped its routes; the pass put them back.
    expect(peerState(node).routes).to.deep.equal([triple(2).route]);
  });

  it("keeps the VTEP MAC and the lease across restarts, also when the device was deleted meanwhile", async () => {
    setUp();
    const first = await start();
    const [link] = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    const firstLease = first.agent.currentLease;
    await first.stop();
    running.splice(0);
    node.ns.ip("link", "del", "flannel.1");
    const second = await start();
    const [relinked] = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1");
    expect(relinked?.address).to.equal(link?.address);
    expect(second.agent.currentLease?.key).to.equal(firstLease?.key);
    expect(second.agent.currentLease?.attrs.backendData?.vtepMac).to.equal(link?.address);
  });

  it("adopts a matching device, removing addresses of a previous lease; replaces one that differs", async () => {
    setUp();
    const mac = vtepMac(4, 1, "192.168.77.11");
    node.ns.ip(
      "link",
      "add",
      "flannel.1",
      "address",
      mac,
      "type",
      "vxlan",
      "id",
      "1",
      "local",
      "192.168.77.11",
      "dev",
      "eth0",
      "dstport",
      "8472",
      "nolearning",
    );
    node.ns.ip("addr", "add", "10.244.200.0/32", "dev", "flannel.1");
    node.ns.ip("addr", "add", "172.16.0.1/32", "dev", "flannel.1");
    const [existing] = node.ns.ipJson<{ ifindex: number }[]>("link", "show", "flannel.1");
    const { agent } = await start();
    const [adopted] = node.ns.ipJson<{ ifindex: number }[]>("link", "show", "flannel.1");
    expect(adopted?.ifindex).to.equal(existing?.ifindex);
    const [address] = node.ns.ipJson<IpAddress[]>("-4", "addr", "show", "dev", "flannel.1");
    expect(address?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).to.have.members([
      "172.16.0.1/32",
      (agent.currentLease?.subnet ?? "").replace("/24", "/32"),
    ]);

    node.ns.ip("link", "set", "flannel.1", "type", "vxlan", "learning");
    await agent.reconcile();
    const [replaced] = node.ns.ipJson<IpLinkDetails[]>("-d", "link", "show", "flannel.1");
    expect(replaced?.linkinfo.info_data).to.include({ learning: false });
  });

  it("DirectRouting: a plain route to peers on the underlay's segment, VXLAN to the others", async () => {
    setUp();
    const remote = lease(3, {
      attrs: { publicIp: "10.0.5.13", backendType: "vxlan", backendData: { vni: 1, vtepMac: "02:00:00:00:00:03" } },
    });
    store.put(peer(2));
    store.put(remote);
    await start(networkConfig({ backend: { directRouting: true } }));
    expect(underlayRoutes()).to.deep.include({ dst: "10.244.2.0/24", gateway: "192.168.77.12", flags: [] });
    expect(peerState(node)).to.deep.equal({
      neighbours: [triple(3).neighbour],
      fdb: [{ mac: "02:00:00:00:00:03", dst: "10.0.5.13", state: "permanent" }],
      routes: [triple(3).route],
    });
    store.drop(peer(2).key);
    expect(underlayRoutes().map((r) => r.dst)).to.not.include("10.244.2.0/24");
  });

  it("writes subnet.env and reports ready", async () => {
    setUp();
    const { agent } = await start();
    const { readFileSync } = await import("node:fs");
    const n = (agent.currentLease?.subnet ?? "").split(".")[2];
    expect(readFileSync(node.subnetFile, "utf8")).to.equal(
      `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${n}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`,
    );
    expect(agent.isReady()).to.equal(true);
    expect(agent.metrics.ready.value()).to.equal(1);
  });

  it("dual stack: flannel-v6.1 with a /128, MTU - 70, and IPv6 entries per peer", async () => {
    setUp({ ipv6: true });
    store.put({
      ...peer(2),
      key: "10.244.2.0-24&fd00:10:244:2::-64",
      ipv6Subnet: "fd00:10:244:2::/64",
      attrs: { ...peer(2).attrs, publicIpv6: "fd00:77::12", backendV6Data: { vni: 1, vtepMac: "02:00:00:00:66:02" } },
    });
    const config = networkConfig({ enableIPv6: true, ipv6Network: "fd00:10:244::/56" });
    const { agent } = await start(config, {
      underlay: { ifaces: [], ifaceRegexes: [], publicIp: undefined, publicIpv6: undefined, ipv4: true, ipv6: true },
    });
    const [link] = node.ns.ipJson<IpLinkDetails[]>("-d", "link", "show", "flannel-v6.1");
    expect(link?.mtu).to.equal(1430);
    expect(link?.linkinfo.info_data).to.include({ id: 1, local6: "fd00:77::11", link: "eth0" });
    const [address] = node.ns.ipJson<IpAddress[]>("-6", "addr", "show", "dev", "flannel-v6.1", "scope", "global");
    const v6 = agent.currentLease?.ipv6Subnet ?? "";
    // `ip -j` prints an empty object for each address the scope filter drops.
    const global = address?.addr_info.filter((a) => a.local !== undefined);
    expect(global?.map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal([v6.replace("/64", "/128")]);
    const state = peerState(node, "flannel-v6.1", "-6");
    expect(state.neighbours.filter((n) => n.state.includes("PERMANENT"))).to.deep.equal([
      { dst: "fd00:10:244:2::", lladdr: "02:00:00:00:66:02", state: ["PERMANENT"] },
    ]);
    expect(state.fdb).to.deep.include({ mac: "02:00:00:00:66:02", dst: "fd00:77::12", state: "permanent" });
    expect(state.routes).to.deep.include({ dst: "fd00:10:244:2::/64", gateway: "fd00:10:244:2::", flags: ["onlink"] });
    expect(peerState(node).routes).to.deep.equal([triple(2).route]);
    const env = (await import("node:fs")).readFileSync(node.subnetFile, "utf8");
    expect(env).to.contain(`FLANNEL_IPV6_SUBNET=${v6.replace("::/64", "::1/64")}\nFLANNEL_MTU=1430\n`);
  });
});

describe("agent: its own lease", function () {
  let cluster: Cluster;
  let running: RunningAgent | undefined;

  afterEach(async () => {
    await running?.stop();
    cluster.destroy();
  });

  it("stops with LeaseRevokedError when its lease is removed from the store, leaving the datapath up", async () => {
    cluster = new Cluster();
    const node = cluster.addNode();
    const store = new MemoryLeaseStore();
    store.put(peer(2));
    running = await startAgent(node, store, networkConfig());
    const entries = peerState(node);
    store.drop(running.agent.currentLease?.key ?? "");
    const error = await running.agent.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(LeaseRevokedError);
    expect(peerState(node)).to.deep.equal(entries);
  });

  it("renews its lease before it expires", async () => {
    cluster = new Cluster();
    const node = cluster.addNode();
    const store = new MemoryLeaseStore();
    running = await startAgent(node, store, networkConfig(), { leaseTtlSeconds: 3, renewMarginSeconds: 2.5 });
    const key = running.agent.currentLease?.key ?? "";
    const first = store.get(key)?.expiration?.getTime() ?? 0;
    expect(await eventually(() => (store.get(key)?.expiration?.getTime() ?? 0) > first, 5_000)).to.equal(true);
    expect(running.agent.metrics.leaseExpiration.value()).to.equal((store.get(key)?.expiration?.getTime() ?? 0) / 1000);
  });
});

describe("agent: cleanup of the datapath", function () {
  let cluster: Cluster;

  afterEach(() => cluster.destroy());

  it("removes the device and DirectRouting's routes, not this node's own subnet or other routes", async () => {
    cluster = new Cluster();
    const node = cluster.addNode();
    const store = new MemoryLeaseStore();
    store.put(peer(2));
    const running = await startAgent(node, store, networkConfig({ backend: { directRouting: true } }));
    const own = running.agent.currentLease?.subnet ?? "";
    await running.stop();
    node.addPod(own);
    node.ns.ip("route", "add", "172.16.0.0/16", "via", "192.168.77.1");
    expect(node.ns.ipJson<{ dst: string }[]>("-4", "route", "show").map((r) => r.dst)).to.include("10.244.2.0/24");
    const handle = await openHandle(node.ns.path);
    try {
      removeDatapath(handle, { vni: 1, networks: ["10.244.0.0/16"], ownSubnets: [own] });
    } finally {
      handle.close();
    }
    expect(node.ns.ipJson<{ ifname: string }[]>("link", "show").map((l) => l.ifname)).to.not.include("flannel.1");
    expect(node.ns.ipJson<{ dst: string }[]>("-4", "route", "show").map((r) => r.dst)).to.have.members([
      "default",
      "192.168.77.0/24",
      "172.16.0.0/16",
      own,
    ]);
  });
});

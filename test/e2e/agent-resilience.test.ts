// The agent under failure, on three nodes sharing one etcd (in the underlay namespace): `tscni
// agent` (the compiled binary) in every node namespace, one pod per node attached through libcni
// with kube-flannel's conflist. In order, on one cluster, each test leaving it whole:
//
//   1. etcd is stopped for OUTAGE seconds and started again: pods on every pair of nodes answer
//      throughout, the agents stay up and keep reconciling without it, and lease changes made in
//      etcd as soon as it is back reach every node;
//   2. a node dies (its agent is SIGKILLed; its lease has a 20 s TTL): the lease expires and the
//      other nodes prune its entries; restarted, it leases its subnet again and is added back;
//   3. a node's underlay address changes while its agent is down: restarted, it keeps its subnet,
//      its lease carries the new address and MAC, and every peer's entries follow.
//
// `make test` stops etcd for 10 s; `make resilience` for the full 60 s (TSCNI_RESILIENCE_OUTAGE_SECONDS).
// The kernel is read with `ip -j` / `bridge -j` inside the node namespaces, etcd with etcdctl.

import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual as isDeepEqual } from "node:util";

import {
  kernelPeerEntries,
  OverlayCluster,
  type OverlayNode,
  type PeerEntries,
  pingEveryPair,
  wantedPeerEntries,
} from "../../netlab/overlay-cluster";
import { eventually, type Pod } from "../helpers/cluster";
import { TestEtcd } from "../helpers/etcd";
import { scratchDir } from "../helpers/suite";
import { suiteOverlayOptions } from "../helpers/suite-overlay";

const OUTAGE_SECONDS = Number(process.env["TSCNI_RESILIENCE_OUTAGE_SECONDS"] ?? "10");
const UNDERLAY_PREFIX = "192.168.77";
const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };
const ETCD_PREFIX = "/coreos.com/network";
const RECONCILE_SECONDS = 2;
/** The node that dies in test 2: a 20 s lease, renewed 6 s before it lapses. */
const SHORT_LEASE_TTL_SECONDS = 20;
const SHORT_LEASE = ["--subnet-lease-ttl", String(SHORT_LEASE_TTL_SECONDS), "--subnet-lease-renew-margin", "0.1"];
/** A lease another node (or an operator) puts into etcd once it is back. */
const PHANTOM = {
  key: `${ETCD_PREFIX}/subnets/10.244.200.0-24`,
  value: JSON.stringify({
    PublicIP: `${UNDERLAY_PREFIX}.200`,
    PublicIPv6: null,
    BackendType: "vxlan",
    BackendData: { VNI: 1, VtepMAC: "02:00:00:00:c8:01" },
  }),
  fdb: { mac: "02:00:00:00:c8:01", dst: `${UNDERLAY_PREFIX}.200`, state: "permanent" },
};

/** Pings every pair of pods, round after round, until stopped; records every echo that went unanswered. */
class Pinger {
  /** When each round of echoes ended. */
  readonly rounds: number[] = [];
  readonly failures: string[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private readonly started = Date.now();

  constructor(pods: readonly Pod[]) {
    this.loop = this.run(pods);
  }

  /** Rounds that ended between `from` and `to` (Date.now() values). */
  roundsBetween(from: number, to: number): number {
    return this.rounds.filter((at) => at >= from && at <= to).length;
  }

  private async run(pods: readonly Pod[]): Promise<void> {
    while (this.running) {
      const results = await pingEveryPair(pods, 1);
      this.rounds.push(Date.now());
      const at = ((Date.now() - this.started) / 1000).toFixed(1);
      for (const { from, to } of results.filter((r) => !r.ok))
        this.failures.push(`${at} s: ${from.name} -> ${to.name}`);
    }
  }

  async stop(): Promise<this> {
    this.running = false;
    await this.loop;
    return this;
  }
}

describe(`agent resilience: three nodes on etcd, an etcd outage of ${OUTAGE_SECONDS} s`, function () {
  this.timeout((OUTAGE_SECONDS + 90) * 1000);
  let overlay: OverlayCluster;
  let etcd: TestEtcd | undefined;
  /** Each node's current underlay address (test 3 changes one). */
  const addresses = new Map<OverlayNode, string>();

  before(async () => {
    const host = `${UNDERLAY_PREFIX}.1`;
    overlay = new OverlayCluster({
      ...suiteOverlayOptions(scratchDir("resilience"), UNDERLAY_PREFIX, RECONCILE_SECONDS),
      store: { kind: "etcd", endpoints: [`http://${host}:2379`] },
    });
    etcd = await TestEtcd.start(overlay.cluster.underlay, { host });
    etcd.etcdctl("put", `${ETCD_PREFIX}/config`, JSON.stringify(NET_CONF));
    for (let n = 0; n < 3; n++) overlay.addNode();
    await Promise.all(overlay.nodes.map((n, i) => n.startAgent(15_000, i === 2 ? SHORT_LEASE : [])));
    for (const node of overlay.nodes) {
      addresses.set(node, node.node.underlayIp);
      node.addPod();
    }
  });

  after(async () => {
    overlay?.destroy();
    await etcd?.stop();
  });

  /** The nodes, in the order they were added. */
  const nodes = (): [OverlayNode, OverlayNode, OverlayNode] => {
    const [one, two, three] = overlay.nodes;
    if (one === undefined || two === undefined || three === undefined)
      throw new Error("the cluster has no three nodes");
    return [one, two, three];
  };
  const store = (): TestEtcd => {
    if (etcd === undefined) throw new Error("etcd did not start");
    return etcd;
  };
  const leaseKeyOf = (subnet: string) => `${ETCD_PREFIX}/subnets/${subnet.replace("/", "-")}`;

  /** flannel's entries for every other node (but `except`), from their namespaces and subnet files. */
  const wantedOn = (self: OverlayNode, except: readonly OverlayNode[] = []): PeerEntries =>
    wantedPeerEntries(
      overlay.nodes
        .filter((peer) => peer !== self && !except.includes(peer))
        .map((peer) => ({ subnet: peer.subnet(), vtepMac: peer.vtepMac(), publicIp: addresses.get(peer) ?? "" })),
    );
  const hasItsPeers = (n: OverlayNode, except: readonly OverlayNode[] = []) =>
    isDeepEqual(kernelPeerEntries(n.ns), wantedOn(n, except));
  const everyNodeHasItsPeers = () => overlay.nodes.every((n) => hasItsPeers(n));
  const failedPairs = async (pods = overlay.pods) =>
    (await pingEveryPair(pods)).filter((r) => !r.ok).map(({ from, to }) => `${from.name} -> ${to.name}`);

  it(`etcd stopped for ${OUTAGE_SECONDS} s: pods keep answering throughout; the agents stay up, reconcile without it, and apply what changes once it is back`, async () => {
    expect(await eventually(everyNodeHasItsPeers, 10_000)).to.equal(true);
    const agents = overlay.nodes.map((n) => n.agent);
    const pinger = new Pinger(overlay.pods);
    await store().pause();
    const stoppedAt = Date.now();

    // Reconciling needs no store: an entry of no lease, added by hand, is removed while etcd is down.
    const [one] = nodes();
    one.ns.ip("neigh", "add", "10.244.250.0", "lladdr", "02:00:00:00:de:ad", "dev", "flannel.1", "nud", "permanent");
    expect(
      await eventually(() => hasItsPeers(one), (RECONCILE_SECONDS + 2) * 1000),
      "reconciled during the outage",
    ).to.equal(true);

    await sleep(Math.max(0, stoppedAt + OUTAGE_SECONDS * 1000 - Date.now()));
    const resumedAt = Date.now();
    await store().resume();
    // As soon as etcd is back: a new lease, then its removal, before or after the agents reconnect.
    store().etcdctl("put", PHANTOM.key, PHANTOM.value);
    const putAt = Date.now();
    const added = await eventually(
      () => overlay.nodes.every((n) => kernelPeerEntries(n.ns).fdb.some((e) => isDeepEqual(e, PHANTOM.fdb))),
      15_000,
    );
    expect(added, "the lease put after the outage was programmed on every node").to.equal(true);
    const appliedAfter = (Date.now() - putAt) / 1000;
    store().etcdctl("del", PHANTOM.key);
    expect(await eventually(everyNodeHasItsPeers, 10_000), "the lease deleted after the outage was pruned").to.equal(
      true,
    );

    const { rounds, failures } = await pinger.stop();
    const duringOutage = pinger.roundsBetween(stoppedAt, resumedAt);
    expect(failures, `unanswered echoes in ${rounds.length} rounds`).to.deep.equal([]);
    expect(duringOutage, "rounds of echoes while etcd was down").to.be.at.least(OUTAGE_SECONDS / 5);
    expect(
      agents.map((agent) => agent?.running),
      "agents still running",
    ).to.deep.equal([true, true, true]);
    const echoes = rounds.length * overlay.pods.length * (overlay.pods.length - 1);
    console.log(
      `      etcd down ${OUTAGE_SECONDS} s: ${echoes} echoes (${duringOutage} rounds while it was down), none lost; ` +
        `a lease put once it was back programmed on every node in ${appliedAfter.toFixed(1)} s`,
    );
  });

  it(`a dead node's lease (TTL ${SHORT_LEASE_TTL_SECONDS} s) expires and the others prune it; restarted, it is added back`, async () => {
    const [, , three] = nodes();
    const others = overlay.nodes.filter((n) => n !== three);
    const subnet = three.subnet();
    const agent = three.agent;
    agent?.kill();
    expect(await agent?.waitForExit()).to.equal(null);
    const killedAt = Date.now();

    const pruned = await eventually(
      () => others.every((n) => hasItsPeers(n, [three])),
      (SHORT_LEASE_TTL_SECONDS + 10) * 1000,
      200,
    );
    expect(pruned, "the others pruned the dead node").to.equal(true);
    const prunedAfter = (Date.now() - killedAt) / 1000;
    expect(store().etcdctl("get", leaseKeyOf(subnet))).to.equal("");
    expect(await failedPairs(others.flatMap((n) => n.pods))).to.deep.equal([]);
    console.log(`      dead node pruned ${prunedAfter.toFixed(1)} s after its agent was killed`);

    await three.startAgent(15_000, SHORT_LEASE);
    expect(three.subnet()).to.equal(subnet);
    expect(await eventually(everyNodeHasItsPeers, 10_000)).to.equal(true);
    expect(await failedPairs()).to.deep.equal([]);
  });

  it("a node restarted with a changed underlay address keeps its subnet; its lease and every peer's entries follow", async () => {
    const [one, two] = nodes();
    const subnet = two.subnet();
    const before = two.vtepMac();
    expect(await two.agent?.stop()).to.equal(0);
    const moved = `${UNDERLAY_PREFIX}.22`;
    two.ns.ip("addr", "del", `${two.node.underlayIp}/24`, "dev", "eth0");
    two.ns.ip("addr", "add", `${moved}/24`, "dev", "eth0");
    two.ns.ip("route", "add", "default", "via", overlay.cluster.underlayGateway);
    addresses.set(two, moved);

    await two.startAgent();
    expect(two.subnet()).to.equal(subnet);
    const lease = JSON.parse(store().etcdctl("get", leaseKeyOf(subnet), "--print-value-only")) as {
      PublicIP: string;
      BackendData: { VtepMAC: string };
    };
    expect(lease.PublicIP).to.equal(moved);
    expect(lease.BackendData.VtepMAC).to.equal(two.vtepMac()).and.not.equal(before);
    expect(await eventually(everyNodeHasItsPeers, 10_000), JSON.stringify(kernelPeerEntries(one.ns))).to.equal(true);
    for (const other of overlay.nodes.filter((n) => n !== two)) {
      expect(kernelPeerEntries(other.ns).fdb.map((e) => e.dst)).to.not.include(two.node.underlayIp);
    }
    expect(await failedPairs()).to.deep.equal([]);
  });
});

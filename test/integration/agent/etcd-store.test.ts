// The etcd lease store against a real etcd (Debian's etcd-server) that the test starts inside a
// network namespace. The store runs in driver processes inside that namespace (Bun-compiled like
// dist/tscni, one under Node); etcdctl, run in the namespace too, is the independent oracle and
// plays flanneld and the operator (writing keys exactly as they do).

import { expect } from "chai";

import type { LeaseAttrs, LeaseEvent } from "../../../agent/lease";
import { TestEtcd } from "../../helpers/etcd";
import { DriverError, LeaseStoreDriver, type DriverRuntime } from "../../helpers/lease-store";
import { TestNetns } from "../../helpers/netns";

const node = (n: number): LeaseAttrs => ({
  publicIp: `192.168.1.${n}`,
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}` },
});

/** flanneld's value for node `n`, byte for byte (Go's json.Marshal of its LeaseAttrs). */
const flannelValue = (n: number): string =>
  `{"PublicIP":"192.168.1.${n}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:${n.toString(16).padStart(2, "0")}"}}`;

describe("etcd lease store (etcd in a test namespace)", function () {
  this.timeout(60_000);
  let ns: TestNetns;
  let etcd: TestEtcd;
  let drivers: LeaseStoreDriver[] = [];
  let prefixCounter = 0;
  let prefix: string;

  const open = async (
    runtime: DriverRuntime = "compiled",
    options: { prefix?: string; resyncIntervalMs?: number } = {},
  ): Promise<LeaseStoreDriver> => {
    const driver = await LeaseStoreDriver.start(
      { kind: "etcd", endpoints: [etcd.endpoint], prefix, ...options },
      { ns, runtime },
    );
    drivers.push(driver);
    return driver;
  };
  /** Grants an etcd lease with etcdctl and returns its ID (hex, as etcdctl prints it). */
  const grant = (ttl: number): string =>
    /lease ([0-9a-f]+) granted/.exec(etcd.etcdctl("lease", "grant", String(ttl)))?.[1] ?? "";
  const storedValue = (key: string): string => etcd.etcdctl("get", "--print-value-only", key).trim();
  /** The etcd lease of a key, 0n for none (etcdctl prints the 64-bit ID as a JSON number). */
  const storedLeaseId = (key: string): bigint =>
    BigInt(/"lease":(\d+)/.exec(etcd.etcdctl("get", "-w", "json", key))?.[1] ?? "0");
  const keyCount = (): number =>
    etcd
      .etcdctl("get", "--prefix", "--keys-only", `${prefix}/subnets/`)
      .split("\n")
      .filter((l) => l !== "").length;

  before(async () => {
    ns = TestNetns.create("etcd", { loUp: true });
    etcd = await TestEtcd.start(ns);
  });
  beforeEach(() => {
    prefix = `/test-${++prefixCounter}/network`;
  });
  afterEach(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    drivers = [];
  });
  after(async () => {
    await etcd?.stop();
    ns?.delete();
  });

  it("reads the network config an operator put at <prefix>/config, under flanneld's default prefix", async () => {
    const config = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
    etcd.etcdctl("put", "/coreos.com/network/config", config);
    try {
      const store = await open("compiled", { prefix: "/coreos.com/network" });
      expect(await store.config()).to.equal(config);
      expect(await (await open()).config()).to.equal(null);
    } finally {
      etcd.etcdctl("del", "--prefix", "/coreos.com/");
    }
  });

  it("moves on to the next endpoint when one cannot be reached", async () => {
    const store = await LeaseStoreDriver.start(
      { kind: "etcd", endpoints: ["http://127.0.0.1:2999", etcd.endpoint], prefix },
      { ns },
    );
    drivers.push(store);
    await store.create({ subnet: "10.244.70.0/24" }, node(70), 600);
    expect((await store.list()).map((l) => l.key)).to.deep.equal(["10.244.70.0-24"]);
    const unreachable = await LeaseStoreDriver.start({ kind: "etcd", endpoints: ["http://127.0.0.1:2999"] }, { ns });
    drivers.push(unreachable);
    const error = await unreachable.list().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DriverError).and.include({ name: "EtcdError" });
    expect((error as Error).message).to.match(/ECONNREFUSED/);
  });

  it("reads leases in flanneld's key and value format, single and dual stack, and writes the same bytes", async () => {
    const v4Key = `${prefix}/subnets/10.244.7.0-24`;
    const dualKey = `${prefix}/subnets/10.244.8.0-24&fd00:10:244:8::-64`;
    const dualValue =
      '{"PublicIP":"192.168.1.8","PublicIPv6":"fd00::8","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:08"},"BackendV6Data":{"VNI":1,"VtepMAC":"42:00:00:00:00:08"}}';
    etcd.etcdctl("put", `--lease=${grant(3600)}`, v4Key, flannelValue(7));
    etcd.etcdctl("put", `--lease=${grant(3600)}`, dualKey, dualValue);
    const store = await open();

    const before = Date.now();
    const leases = await store.list();
    const byKey = new Map(leases.map((l) => [l.key, l]));
    expect([...byKey.keys()].sort()).to.deep.equal(["10.244.7.0-24", "10.244.8.0-24&fd00:10:244:8::-64"]);
    expect(byKey.get("10.244.7.0-24")).to.deep.include({ subnet: "10.244.7.0/24", attrs: node(7) });
    expect(byKey.get("10.244.8.0-24&fd00:10:244:8::-64")).to.deep.include({
      subnet: "10.244.8.0/24",
      ipv6Subnet: "fd00:10:244:8::/64",
      attrs: {
        ...node(8),
        publicIpv6: "fd00::8",
        backendV6Data: { vni: 1, vtepMac: "42:00:00:00:00:08" },
      },
    });
    for (const lease of leases) {
      expect(lease.expiration?.getTime()).to.be.within(before + 3590_000, before + 3601_000);
    }

    await store.create({ subnet: "10.244.9.0/24" }, node(9), 600);
    expect(storedValue(`${prefix}/subnets/10.244.9.0-24`)).to.equal(flannelValue(9));
    const leaseId = storedLeaseId(`${prefix}/subnets/10.244.9.0-24`);
    expect(leaseId).to.not.equal(0n);
    const ttl = /remaining\((\d+)s\)/.exec(etcd.etcdctl("lease", "timetolive", leaseId.toString(16)))?.[1];
    expect(Number(ttl)).to.be.within(590, 600);
  });

  it("creates a key only if absent: of two nodes (Bun and Node) racing for each subnet, exactly one wins", async () => {
    const [a, b] = await Promise.all([open("compiled"), open("node")]);
    for (let third = 1; third <= 20; third++) {
      const subnet = `10.244.${third}.0/24`;
      const [fromA, fromB] = await Promise.all([
        a.create({ subnet }, node(1), 600),
        b.create({ subnet }, node(2), 600),
      ]);
      expect(
        [fromA, fromB].filter((l) => l !== undefined),
        subnet,
      ).to.have.length(1);
      const winner = fromA !== undefined ? 1 : 2;
      expect(storedValue(`${prefix}/subnets/10.244.${third}.0-24`)).to.equal(flannelValue(winner));
    }
    // The losers gave their etcd leases back: every lease etcd holds is attached to a key.
    const ids = etcd.etcdctl("lease", "list").match(/^[0-9a-f]+$/gm) ?? [];
    expect(ids.length).to.be.at.least(20);
    for (const id of ids) {
      expect(etcd.etcdctl("lease", "timetolive", "--keys", id), `etcd lease ${id}`).to.match(/attached keys\(\[.+\]\)/);
    }
  });

  it("treats a key without an etcd lease as a reservation: never taken by others, kept TTL-less by its node", async () => {
    const reserved = `${prefix}/subnets/10.244.20.0-24`;
    etcd.etcdctl("put", reserved, flannelValue(20));
    const other = await open();
    const config = { Network: "10.244.0.0/16", SubnetMin: "10.244.20.0", SubnetMax: "10.244.21.0" };

    const [reservation] = await other.list();
    expect(reservation).to.deep.equal({ key: "10.244.20.0-24", subnet: "10.244.20.0/24", attrs: node(20) });
    expect(await other.create({ subnet: "10.244.20.0/24" }, node(30), 600)).to.equal(undefined);
    expect((await other.acquire(config, node(30))).subnet).to.equal("10.244.21.0/24");

    const owner = { ...node(20), backendData: { vni: 1, vtepMac: "02:20:20:20:20:20" } };
    const kept = await other.acquire(config, owner);
    expect(kept).to.deep.equal({ key: "10.244.20.0-24", subnet: "10.244.20.0/24", attrs: owner });
    expect(storedLeaseId(reserved)).to.equal(0n);
    expect(JSON.parse(storedValue(reserved))).to.deep.include({
      BackendData: { VNI: 1, VtepMAC: "02:20:20:20:20:20" },
    });
  });

  it("lets a lease lapse after its TTL (etcd deletes it; the store no longer lists it)", async () => {
    const store = await open();
    await store.create({ subnet: "10.244.30.0/24" }, node(30), 2);
    expect(keyCount()).to.equal(1);
    const deadline = Date.now() + 15_000;
    while (keyCount() !== 0) {
      expect(Date.now(), "etcd kept the key past its TTL").to.be.below(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await store.list()).to.deep.equal([]);
  });

  it("watches: a snapshot, then additions and removals by etcdctl, the store and TTL expiry", async () => {
    await (await open()).create({ subnet: "10.244.40.0/24" }, node(40), 600);
    const watcher = await open();
    const watch = await watcher.watch();
    const snapshot = await watch.next((e) => e.type === "snapshot");
    expect(snapshot).to.deep.include({ type: "snapshot" });
    expect((snapshot as Extract<LeaseEvent, { type: "snapshot" }>).leases.map((l) => l.key)).to.deep.equal([
      "10.244.40.0-24",
    ]);

    const isEvent = (type: string, key: string) => (e: LeaseEvent) =>
      e.type === type && "lease" in e && e.lease.key === key;
    etcd.etcdctl("put", `--lease=${grant(600)}`, `${prefix}/subnets/10.244.41.0-24`, flannelValue(41));
    const added = await watch.next(isEvent("added", "10.244.41.0-24"));
    expect(added).to.deep.nested.include({ "lease.attrs": node(41) });
    etcd.etcdctl("del", `${prefix}/subnets/10.244.41.0-24`);
    expect(await watch.next(isEvent("removed", "10.244.41.0-24"))).to.deep.nested.include({ "lease.attrs": node(41) });

    const writer = await open();
    await writer.create({ subnet: "10.244.42.0/24" }, node(42), 2);
    await watch.next(isEvent("added", "10.244.42.0-24"));
    await watch.next(isEvent("removed", "10.244.42.0-24"));
    await writer.remove("10.244.40.0-24");
    await watch.next(isEvent("removed", "10.244.40.0-24"));
    await watch.stop();
  });

  it("re-lists on every resync interval, and goes on following changes", async () => {
    const store = await open("compiled", { resyncIntervalMs: 300 });
    const watch = await store.watch();
    await watch.next((e) => e.type === "snapshot");
    await watch.next((e) => e.type === "snapshot", watch.events.length);
    await store.create({ subnet: "10.244.60.0/24" }, node(60), 600);
    await watch.next((e) => e.type === "added" || (e.type === "snapshot" && e.leases.length === 1));
    await watch.stop();
  });

  it("re-lists with a fresh snapshot when etcd compacted the revision the watch must resume from", async () => {
    const store = await open();
    await store.create({ subnet: "10.244.50.0/24" }, node(50), 600);
    const watch = await store.watch();
    await watch.next((e) => e.type === "snapshot");
    const seen = watch.events.length;

    // etcd goes away (the watch stream breaks) and, while the store cannot reach it, changes and
    // compacts its history; then it comes back where the store looks for it.
    await etcd.pause();
    await etcd.resume(2479);
    etcd.etcdctl("put", `--lease=${grant(600)}`, `${prefix}/subnets/10.244.51.0-24`, flannelValue(51));
    etcd.etcdctl("del", `${prefix}/subnets/10.244.50.0-24`);
    etcd.etcdctl("compact", String(etcd.revision()));
    await etcd.pause();
    await etcd.resume(2379);

    const fresh = await watch.next((e) => e.type === "snapshot", seen, 30_000);
    expect((fresh as Extract<LeaseEvent, { type: "snapshot" }>).leases.map((l) => l.key)).to.deep.equal([
      "10.244.51.0-24",
    ]);
    // And it follows on from there.
    etcd.etcdctl("put", `--lease=${grant(600)}`, `${prefix}/subnets/10.244.52.0-24`, flannelValue(52));
    await watch.next((e) => e.type === "added" && e.lease.key === "10.244.52.0-24", seen);
    await watch.stop();
  });
});

describe("etcd lease store over TLS (client certificates)", function () {
  this.timeout(60_000);
  let ns: TestNetns;
  let etcd: TestEtcd;
  const drivers: LeaseStoreDriver[] = [];

  before(async () => {
    ns = TestNetns.create("etcd-tls", { loUp: true });
    etcd = await TestEtcd.start(ns, { tls: true });
  });
  after(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await etcd?.stop();
    ns?.delete();
  });

  it("works with the CA and a client certificate, and fails with an EtcdError without the certificate", async () => {
    const tls = etcd.tls ?? expect.fail("no TLS files");
    const store = await LeaseStoreDriver.start({ kind: "etcd", endpoints: [etcd.endpoint], tls }, { ns });
    drivers.push(store);
    await store.create({ subnet: "10.244.1.0/24" }, node(1), 600);
    expect(etcd.etcdctl("get", "--print-value-only", "/coreos.com/network/subnets/10.244.1.0-24").trim()).to.equal(
      flannelValue(1),
    );
    expect((await store.list()).map((l) => l.key)).to.deep.equal(["10.244.1.0-24"]);

    const anonymous = await LeaseStoreDriver.start(
      { kind: "etcd", endpoints: [etcd.endpoint], tls: { caFile: tls.caFile } },
      { ns },
    );
    drivers.push(anonymous);
    const error = await anonymous.list().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DriverError).and.include({ name: "EtcdError" });
  });
});

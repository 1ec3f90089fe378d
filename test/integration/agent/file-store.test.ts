// The file lease store with several agents on one host: each store runs in its own driver process
// (Bun-compiled like dist/tscni, one under Node), all on one directory under build/. The directory
// itself, read with node:fs, is the oracle.

import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import type { Lease, LeaseAttrs, LeaseEvent } from "../../../agent/lease";
import { DriverError, LeaseStoreDriver, type DriverRuntime } from "../../helpers/lease-store";
import { scratchDir } from "../../helpers/suite";

const node = (n: number): LeaseAttrs => ({
  publicIp: `192.168.1.${n}`,
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}` },
});

/** 10.5.0.0/24 in /28s: SubnetMin 10.5.0.16 to SubnetMax 10.5.0.240, 15 subnets. */
const SMALL_NETWORK = { Network: "10.5.0.0/24", SubnetLen: 28 };

describe("file lease store (several processes, one directory)", function () {
  this.timeout(60_000);
  let directory: string;
  let drivers: LeaseStoreDriver[] = [];

  const subnetsDir = (): string => join(directory, "subnets");
  const open = async (runtime: DriverRuntime = "compiled"): Promise<LeaseStoreDriver> => {
    const driver = await LeaseStoreDriver.start({ kind: "file", directory, pollIntervalMs: 200 }, { runtime });
    drivers.push(driver);
    return driver;
  };
  const openMany = (count: number): Promise<LeaseStoreDriver[]> =>
    Promise.all(Array.from({ length: count }, () => open()));
  /** Lease files as the directory holds them: name → parsed JSON. */
  const files = (): Map<string, Record<string, unknown>> =>
    new Map(
      readdirSync(subnetsDir())
        .filter((name) => !name.startsWith("."))
        .map((name) => [name, JSON.parse(readFileSync(join(subnetsDir(), name), "utf8")) as Record<string, unknown>]),
    );

  beforeEach(() => {
    directory = scratchDir("file-store");
  });
  afterEach(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    drivers = [];
    rmSync(directory, { recursive: true, force: true });
  });

  it("gives racing agents distinct subnets, and the agent left over when the range is full an error", async () => {
    const agents = await openMany(16);
    const results = await Promise.allSettled(agents.map((agent, i) => agent.acquire(SMALL_NETWORK, node(i + 1))));
    const leased = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));

    expect(leased).to.have.length(15);
    expect(failed.map((e) => e.name)).to.deep.equal(["SubnetsExhaustedError"]);
    expect(new Set(leased.map((l) => l.subnet)).size).to.equal(15);
    const onDisk = files();
    expect(onDisk.size).to.equal(15);
    for (const lease of leased) {
      expect(onDisk.get(lease.key), lease.key).to.deep.include({
        PublicIP: lease.attrs.publicIp,
        BackendType: "vxlan",
      });
    }
  });

  it("creates a key only if absent: of agents (Bun and Node) racing for each subnet, exactly one wins", async () => {
    const agents = [...(await openMany(3)), await open("node")];
    for (let third = 1; third <= 10; third++) {
      const subnet = `10.244.${third}.0/24`;
      const results = await Promise.all(agents.map((agent, i) => agent.create({ subnet }, node(i + 1), 600)));
      const winners = results.filter((l): l is Lease => l !== undefined);
      expect(winners, subnet).to.have.length(1);
      expect(files().get(`10.244.${third}.0-24`)).to.deep.include({ PublicIP: winners[0]?.attrs.publicIp });
    }
  });

  it("writes flanneld's value plus the expiration, and renews only the node's own lease", async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const lease = (await a.create({ subnet: "10.244.1.0/24" }, node(1), 600)) as Lease;
    expect(readFileSync(join(subnetsDir(), "10.244.1.0-24"), "utf8")).to.equal(
      `{"PublicIP":"192.168.1.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:01"},"Expiration":"${lease.expiration?.toISOString()}"}\n`,
    );
    const renewed = await a.renew(lease, node(1), 1200);
    expect(renewed.expiration?.getTime()).to.be.above(lease.expiration?.getTime() ?? Infinity);
    const error = await b.renew(lease, node(2), 600).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DriverError).and.include({ name: "LeaseConflictError" });
    expect(files().get("10.244.1.0-24")).to.deep.include({ PublicIP: "192.168.1.1" });
  });

  it("honours the TTL: an expired lease is no longer listed, and the next writer removes its file", async () => {
    const [a, b] = await Promise.all([open(), open()]);
    await a.create({ subnet: "10.244.1.0/24" }, node(1), 1);
    expect(await b.list()).to.have.length(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await b.list()).to.deep.equal([]);
    expect(existsSync(join(subnetsDir(), "10.244.1.0-24"))).to.equal(true);
    // The subnet is free again for anyone, and the write clears the expired file.
    await b.create({ subnet: "10.244.2.0/24" }, node(2), 600);
    expect([...files().keys()]).to.deep.equal(["10.244.2.0-24"]);
    expect(await a.create({ subnet: "10.244.1.0/24" }, node(3), 600)).to.deep.include({ key: "10.244.1.0-24" });
  });

  it("watches: a snapshot, then leases added and removed by other agents, and expiring", async () => {
    const [writer, watcher] = await Promise.all([open(), open()]);
    await writer.create({ subnet: "10.244.1.0/24" }, node(1), 600);
    const watch = await watcher.watch();
    const snapshot = (await watch.next((e) => e.type === "snapshot")) as Extract<LeaseEvent, { type: "snapshot" }>;
    expect(snapshot.leases.map((l) => l.key)).to.deep.equal(["10.244.1.0-24"]);

    const isEvent = (type: string, key: string) => (e: LeaseEvent) =>
      e.type === type && "lease" in e && e.lease.key === key;
    await writer.create({ subnet: "10.244.2.0/24" }, node(2), 600);
    expect(await watch.next(isEvent("added", "10.244.2.0-24"))).to.deep.nested.include({ "lease.attrs": node(2) });
    await writer.remove("10.244.1.0-24");
    expect(await watch.next(isEvent("removed", "10.244.1.0-24"))).to.deep.nested.include({ "lease.attrs": node(1) });
    await writer.create({ subnet: "10.244.3.0/24" }, node(3), 1);
    await watch.next(isEvent("added", "10.244.3.0-24"));
    await watch.next(isEvent("removed", "10.244.3.0-24")); // nobody wrote: the lease just lapsed
    await watch.stop();
  });

  it("never shows a reader part of a file, and what a killed writer left behind is cleaned up", async () => {
    const [writer, other] = await Promise.all([open(), open()]);
    const lease = (await writer.create({ subnet: "10.244.1.0/24" }, node(1), 600)) as Lease;
    const count = 400;
    const rewriting = writer.renewMany(lease, node(1), count);
    const path = join(subnetsDir(), lease.key);
    const seen = new Set<number>();
    for (let last = 0; last < count;) {
      // Every read is a whole file: JSON.parse throws on a torn one.
      const value = JSON.parse(readFileSync(path, "utf8")) as { BackendData: { VNI: number } };
      expect(value.BackendData.VNI).to.be.at.least(last);
      last = value.BackendData.VNI;
      seen.add(last);
    }
    await rewriting;
    // The reads interleaved with the writes (the check above was not vacuous).
    expect(seen.size).to.be.above(10);

    // A writer killed mid-rewrite leaves at worst its temporary file; the next writer removes it.
    const victim = writer.renewMany(lease, node(1), 100_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    writer.kill();
    await victim;
    for (const [, value] of files()) expect(value).to.include({ PublicIP: "192.168.1.1" });
    await other.create({ subnet: "10.244.2.0/24" }, node(2), 600);
    expect(readdirSync(subnetsDir()).sort()).to.deep.equal(["10.244.1.0-24", "10.244.2.0-24"]);
  });
});

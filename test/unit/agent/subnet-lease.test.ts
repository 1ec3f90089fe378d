// The subnet choice and the renewal schedule, over an in-memory store whose other "nodes" the
// tests play.

import { expect } from "chai";

import type { Lease, LeaseAttrs } from "../../../agent/lease";
import { parseNetworkConfig } from "../../../agent/network-config";
import { LeaseConflictError } from "../../../agent/store/errors";
import {
  acquireLease,
  fitsConfig,
  keepLeaseRenewed,
  LeaseRaceError,
  renewAt,
  SubnetsExhaustedError,
} from "../../../agent/subnet-lease";
import { MemoryLeaseStore } from "./support/memory-lease-store";

const node = (n: number): LeaseAttrs => ({
  publicIp: `192.168.1.${n}`,
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}` },
});
const ME = node(1);
const CONFIG = parseNetworkConfig({ Network: "10.244.0.0/16" });
/** 10.5.0.0/24 in /28s: 10.5.0.16 to 10.5.0.240. */
const SMALL = parseNetworkConfig({ Network: "10.5.0.0/24", SubnetLen: 28 });
const DUAL = parseNetworkConfig({ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:244::/56" });
const third = (cidr: string | undefined): number => Number(cidr?.split(".")[2]);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error: unknown) {
    return error as Error;
  }
  throw new Error("resolved");
}

describe("acquireLease (flannel's subnet choice over any store)", () => {
  let store: MemoryLeaseStore;

  beforeEach(() => {
    store = new MemoryLeaseStore();
  });

  it("keeps this node's lease and renews it with the new attributes and TTL", async () => {
    const old = store.put(
      { subnet: "10.244.7.0/24" },
      { ...ME, backendData: { vni: 1, vtepMac: "02:99:99:99:99:99" } },
      60,
    );
    store.put({ subnet: "10.244.8.0/24" }, node(2), 60);
    const lease = await acquireLease(store, {
      config: CONFIG,
      attrs: ME,
      previous: { subnet: "10.244.9.0/24" },
      ttlSeconds: 3600,
    });
    expect(lease).to.deep.include({ key: "10.244.7.0-24", subnet: "10.244.7.0/24", attrs: ME });
    expect(lease.expiration?.getTime()).to.be.above((old.expiration?.getTime() ?? 0) + 3000_000);
    expect(store.calls).to.deep.equal(["list", "renew 10.244.7.0-24"]);
  });

  it("keeps this node's reservation as a reservation (no expiry)", async () => {
    store.put({ subnet: "10.244.7.0/24" }, ME);
    const lease = await acquireLease(store, { config: CONFIG, attrs: ME });
    expect(lease).to.deep.equal({ key: "10.244.7.0-24", subnet: "10.244.7.0/24", attrs: ME });
  });

  it("deletes this node's lease that no longer fits the config, then leases another subnet", async () => {
    store.put({ subnet: "10.244.7.0/25" }, ME, 60); // SubnetLen changed since
    store.put({ subnet: "10.3.0.0/24" }, ME, 60); // outside the network
    const lease = await acquireLease(store, { config: CONFIG, attrs: ME });
    expect(store.calls.slice(0, 3)).to.deep.equal(["list", "remove 10.244.7.0-25", "remove 10.3.0.0-24"]);
    expect(lease.subnet).to.match(/^10\.244\.\d+\.0\/24$/);
    expect([...store.leases.keys()]).to.deep.equal([lease.key]);
  });

  it("deletes an IPv4-only lease of this node once the config is dual stack", async () => {
    store.put({ subnet: "10.244.7.0/24" }, ME, 60);
    const lease = await acquireLease(store, { config: DUAL, attrs: ME, previous: { subnet: "10.244.7.0/24" } });
    expect(store.calls).to.include("remove 10.244.7.0-24");
    expect(lease.ipv6Subnet).to.match(/^fd00:10:244:[0-9a-f]+::\/64$/);
  });

  it("takes the subnet of the previous subnet.env when it is free and fits", async () => {
    store.put({ subnet: "10.244.8.0/24" }, node(2), 60);
    const lease = await acquireLease(store, { config: CONFIG, attrs: ME, previous: { subnet: "10.244.9.0/24" } });
    expect(lease).to.deep.include({ key: "10.244.9.0-24", attrs: ME });
    // As subnet.env writes it: the gateway address.
    const again = await acquireLease(new MemoryLeaseStore(), {
      config: CONFIG,
      attrs: ME,
      previous: { subnet: "10.244.9.1/24" },
    });
    expect(again).to.deep.include({ key: "10.244.9.0-24", subnet: "10.244.9.0/24" });
  });

  it("ignores the previous subnet when another node holds it, or when it does not fit the config", async () => {
    store.put({ subnet: "10.244.9.0/24" }, node(2), 60);
    const taken = await acquireLease(store, { config: CONFIG, attrs: ME, previous: { subnet: "10.244.9.0/24" } });
    expect(taken.subnet).to.not.equal("10.244.9.0/24");

    const other = new MemoryLeaseStore();
    const minMax = parseNetworkConfig({ Network: "10.244.0.0/16", SubnetMin: "10.244.10.0", SubnetMax: "10.244.20.0" });
    const outside = await acquireLease(other, { config: minMax, attrs: ME, previous: { subnet: "10.244.9.0/24" } });
    expect(third(outside.subnet)).to.be.within(10, 20);
  });

  it("picks a random free subnet between SubnetMin and SubnetMax", async () => {
    const config = parseNetworkConfig({ Network: "10.244.0.0/16", SubnetMin: "10.244.10.0", SubnetMax: "10.244.29.0" });
    for (let t = 10; t < 29; t += 2) store.put({ subnet: `10.244.${t}.0/24` }, node(100 + t), 60);
    const chosen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const lease = await acquireLease(store, { config, attrs: node(1 + i) });
      expect(third(lease.subnet)).to.be.within(10, 29);
      expect(third(lease.subnet) % 2, lease.key).to.equal(1);
      chosen.add(lease.key);
      await store.remove(lease.key);
    }
    // 10 free subnets, 30 draws: a fixed pick would give one key.
    expect(chosen.size).to.be.above(1);
  });

  it("does not pick a subnet overlapped by a lease of another length", async () => {
    store.put({ subnet: "10.5.0.0/25" }, node(2), 60); // covers 10.5.0.16 .. 10.5.0.112
    const lease = await acquireLease(store, { config: SMALL, attrs: ME });
    expect(Number(lease.subnet?.split(".")[3]?.split("/")[0])).to.be.at.least(128);
  });

  it("skips expired leases and fails with SubnetsExhaustedError when every subnet is taken", async () => {
    for (let last = 16; last <= 240; last += 16) store.put({ subnet: `10.5.0.${last}/28` }, node(last), 60);
    const error = await rejection(acquireLease(store, { config: SMALL, attrs: ME }));
    expect(error).to.be.instanceOf(SubnetsExhaustedError);
    expect(error.message).to.equal("out of subnets: no free subnet /28 between 10.5.0.16 and 10.5.0.240");

    store.put({ subnet: "10.5.0.64/28" }, node(64), -1); // lapsed
    expect(await acquireLease(store, { config: SMALL, attrs: ME })).to.deep.include({ key: "10.5.0.64-28" });
  });

  it("looks again after losing a race, never retrying the subnet it lost", async () => {
    let races = 0;
    store.beforeCreate = (subnets) => {
      if (races++ < 3) store.put(subnets, node(50 + races), 60); // another node got there first
    };
    const lease = await acquireLease(store, { config: SMALL, attrs: ME, previous: { subnet: "10.5.0.32/28" } });
    const creates = store.calls.filter((c) => c.startsWith("create"));
    expect(creates).to.have.length(4);
    expect(creates[0]).to.equal("create 10.5.0.32-28");
    expect(new Set(creates).size).to.equal(4);
    expect(store.leases.get(lease.key)?.attrs).to.deep.equal(ME);
    expect(store.calls.filter((c) => c === "list")).to.have.length(4);
  });

  it("gives up with LeaseRaceError after losing 10 races", async () => {
    store.beforeCreate = (subnets) => store.put(subnets, node(99), 60);
    const error = await rejection(acquireLease(store, { config: CONFIG, attrs: ME }));
    expect(error).to.be.instanceOf(LeaseRaceError);
    expect(store.calls.filter((c) => c.startsWith("create"))).to.have.length(10);
  });

  it("chooses again when its own lease was taken between listing and renewing", async () => {
    store.put({ subnet: "10.244.7.0/24" }, ME, 60);
    const renew = store.renew.bind(store);
    store.renew = (lease, attrs, ttl) => {
      store.put({ subnet: "10.244.7.0/24" }, node(2), 60); // it lapsed, and node 2 took it
      return renew(lease, attrs, ttl);
    };
    const lease = await acquireLease(store, { config: CONFIG, attrs: ME });
    expect(lease.subnet).to.not.equal("10.244.7.0/24");
    expect(store.leases.get("10.244.7.0-24")?.attrs).to.deep.equal(node(2));
  });

  it("leases an IPv4 and an IPv6 subnet together when dual stack, in one dual-stack key", async () => {
    store.put({ subnet: "10.244.8.0/24", ipv6Subnet: "fd00:10:244:8::/64" }, node(2), 60);
    const lease = await acquireLease(store, { config: DUAL, attrs: ME });
    expect(lease.key).to.equal(`${lease.subnet?.replace("/", "-")}&${lease.ipv6Subnet?.replace("/", "-")}`);
    expect(fitsConfig(DUAL, lease)).to.equal(true);
    expect(lease.ipv6Subnet).to.not.equal("fd00:10:244:8::/64");

    const previous = { subnet: "10.244.9.0/24", ipv6Subnet: "fd00:10:244:9::/64" };
    const again = await acquireLease(new MemoryLeaseStore(), { config: DUAL, attrs: ME, previous });
    expect(again).to.deep.include(previous);
  });

  it("leases an IPv6 subnet alone when IPv4 is disabled", async () => {
    const v6 = parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/120" });
    const attrs: LeaseAttrs = { publicIp: "0.0.0.0", publicIpv6: "fd00:1::1", backendType: "vxlan" };
    const lease = await acquireLease(store, { config: v6, attrs });
    expect(lease.subnet).to.equal(undefined);
    expect(lease.ipv6Subnet).to.match(/^fd00::[48c]0\/122$/);
  });
});

describe("lease renewal", () => {
  const lease = (expiresInSeconds?: number): Lease => ({
    key: "10.244.7.0-24",
    subnet: "10.244.7.0/24",
    attrs: ME,
    ...(expiresInSeconds === undefined ? {} : { expiration: new Date(Date.now() + expiresInSeconds * 1000) }),
  });

  it("is due the margin before expiry, and never for a reservation", () => {
    const expiring = lease(86_400);
    expect(renewAt(expiring, 3600)?.getTime()).to.equal((expiring.expiration?.getTime() ?? 0) - 3600_000);
    expect(renewAt(lease(), 3600)).to.equal(undefined);
  });

  it("renews on schedule, retries a failed renewal, and stops when aborted", async () => {
    const store = new MemoryLeaseStore();
    store.renewFailures.push(new Error("etcd unreachable"));
    const controller = new AbortController();
    const renewed: Lease[] = [];
    const done = keepLeaseRenewed(store, lease(0.2), {
      attrs: ME,
      signal: controller.signal,
      ttlSeconds: 0.3,
      marginSeconds: 0.1,
      retrySeconds: 0.05,
      onRenewed: (l) => {
        renewed.push(l);
        if (renewed.length === 2) controller.abort();
      },
    });
    await done;
    expect(store.calls.filter((c) => c.startsWith("renew"))).to.have.length(3);
    expect(renewed).to.have.length(2);
    expect(renewed[1]?.expiration?.getTime()).to.be.above(renewed[0]?.expiration?.getTime() ?? Infinity);
  });

  it("gives up when another node holds the key, and does nothing for a reservation", async () => {
    const store = new MemoryLeaseStore();
    store.renewFailures.push(new LeaseConflictError("10.244.7.0-24", "192.168.1.2"));
    const signal = new AbortController().signal;
    const options = { attrs: ME, signal, ttlSeconds: 10, marginSeconds: 10 - 0.01 };
    expect(await rejection(keepLeaseRenewed(store, lease(10), options))).to.be.instanceOf(LeaseConflictError);
    await keepLeaseRenewed(store, lease(), options);
    expect(store.calls).to.deep.equal(["renew 10.244.7.0-24"]);
  });

  it("refuses a margin that is not shorter than the TTL (it would renew without pause)", async () => {
    const options = { attrs: ME, signal: new AbortController().signal, ttlSeconds: 60, marginSeconds: 60 };
    expect(await rejection(keepLeaseRenewed(new MemoryLeaseStore(), lease(60), options))).to.be.instanceOf(RangeError);
  });
});

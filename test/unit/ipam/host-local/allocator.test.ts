// The allocator on an in-memory store: round-robin order (the reference's iterator cases), what is
// never handed out, exhaustion, requested addresses, all-or-nothing, and the selections DEL, GC and
// STATUS make among reservations.

import { expect } from "chai";

import type { Attachment } from "../../../../cni/plugin";
import { type Address, formatAddress, parseAddress } from "../../../../ipam/host-local/address";
import {
  AllocationError,
  allocate,
  exhaustedRangeSets,
  ownedBy,
  type Reservation,
  staleReservations,
} from "../../../../ipam/host-local/allocator";
import { parseConfig } from "../../../../ipam/host-local/config";
import type { RangeSet } from "../../../../ipam/host-local/range-set";
import { netConf } from "./support/net-conf";
import { MemoryStore } from "./support/memory-store";

const POD: Attachment = { containerId: "ID", ifName: "eth0" };

/** Range sets from `ipam.ranges` JSON, or from subnets (one set per inner list). */
function rangeSets(ranges: readonly (readonly (string | Record<string, string>)[])[]): RangeSet[] {
  const json = ranges.map((set) => set.map((range) => (typeof range === "string" ? { subnet: range } : range)));
  return [...parseConfig(netConf({ ipam: { ranges: json } })).rangeSets];
}

const address = (text: string): Address => parseAddress(text)!;

/** The first `count` candidates of a set (all of them when count is omitted). */
function candidates(set: RangeSet, last?: string, count = Infinity): string[] {
  const out: string[] = [];
  for (const { range, from, to } of set.walk(last === undefined ? undefined : address(last))) {
    for (let value = from; value <= to && out.length < count; value++) {
      if (range.isAllocatable(value)) out.push(formatAddress(range.address(value)));
    }
  }
  return out;
}

function allocationError(run: () => unknown): string {
  try {
    run();
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(AllocationError);
    return (error as Error).message;
  }
  throw new Error("expected an AllocationError");
}

const one = (store: MemoryStore, sets: RangeSet[], owner = POD, requested: Address[] = []): string[] =>
  allocate(store, sets, owner, requested).map((ip) => ip.address);

describe("host-local allocator", () => {
  describe("candidate order", () => {
    const [set] = rangeSets([["192.168.1.0/29"]]);

    it("starts after the gateway, ends before the broadcast", () => {
      expect(candidates(set!)).to.deep.equal([
        "192.168.1.2",
        "192.168.1.3",
        "192.168.1.4",
        "192.168.1.5",
        "192.168.1.6",
      ]);
    });

    it("from the end wraps to the start; from the middle goes round to the last reserved", () => {
      expect(candidates(set!, "192.168.1.6")).to.deep.equal([
        "192.168.1.2",
        "192.168.1.3",
        "192.168.1.4",
        "192.168.1.5",
        "192.168.1.6",
      ]);
      expect(candidates(set!, "192.168.1.3")).to.deep.equal([
        "192.168.1.4",
        "192.168.1.5",
        "192.168.1.6",
        "192.168.1.2",
        "192.168.1.3",
      ]);
    });

    it("after the end of one range of a multi-range set, starts the next range", () => {
      const [multi] = rangeSets([
        [
          { subnet: "192.168.1.0/29", rangeEnd: "192.168.1.3" },
          { subnet: "192.168.2.0/29", rangeEnd: "192.168.2.3" },
        ],
      ]);
      expect(candidates(multi!, "192.168.1.3")).to.deep.equal([
        "192.168.2.2",
        "192.168.2.3",
        "192.168.1.2",
        "192.168.1.3",
      ]);
      expect(candidates(multi!)).to.deep.equal(["192.168.1.2", "192.168.1.3", "192.168.2.2", "192.168.2.3"]);
    });

    it("never yields the network or broadcast address, even when rangeStart/rangeEnd name them", () => {
      const [edges] = rangeSets([
        [{ subnet: "10.0.0.0/29", rangeStart: "10.0.0.0", rangeEnd: "10.0.0.7", gateway: "10.0.0.6" }],
      ]);
      expect(candidates(edges!)).to.deep.equal(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]);
      const [v6] = rangeSets([[{ subnet: "2001:db8::/126", rangeStart: "2001:db8::" }]]);
      expect(candidates(v6!)).to.deep.equal(["2001:db8::2", "2001:db8::3"]);
    });

    it("hands out .1 when the gateway is elsewhere", () => {
      const [set] = rangeSets([[{ subnet: "10.0.0.0/29", gateway: "10.0.0.6" }]]);
      expect(candidates(set!, undefined, 2)).to.deep.equal(["10.0.0.1", "10.0.0.2"]);
    });

    it("walks a huge IPv6 range lazily", () => {
      const [set] = rangeSets([["2001:db8::/32"]]);
      expect(candidates(set!, "2001:db8::ffff", 2)).to.deep.equal(["2001:db8::1:0", "2001:db8::1:1"]);
    });
  });

  describe("round robin (the reference's cases)", () => {
    const cases: { subnets: string[]; taken?: string[]; last?: string; expect: string }[] = [
      { subnets: ["10.0.0.0/29"], expect: "10.0.0.2" },
      { subnets: ["2001:db8:1::/64"], expect: "2001:db8:1::2" },
      { subnets: ["10.0.0.0/30"], expect: "10.0.0.2" },
      { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], expect: "10.0.0.3" },
      { subnets: ["10.0.0.0/29"], last: "10.0.0.5", expect: "10.0.0.6" },
      { subnets: ["10.0.0.0/29"], taken: ["10.0.0.4", "10.0.0.5"], last: "10.0.0.3", expect: "10.0.0.6" },
      { subnets: ["10.0.0.0/29"], taken: ["10.0.0.6"], last: "10.0.0.5", expect: "10.0.0.2" },
      { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], last: "10.0.0.128", expect: "10.0.0.3" },
      {
        subnets: ["10.0.0.0/29"],
        taken: ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
        last: "10.0.0.3",
        expect: "10.0.0.3",
      },
      { subnets: ["10.0.0.0/30", "10.0.1.0/30"], expect: "10.0.0.2" },
      { subnets: ["10.0.0.0/30", "10.0.1.0/30"], last: "10.0.0.2", expect: "10.0.1.2" },
      { subnets: ["10.0.0.0/30", "10.0.1.0/30", "10.0.2.0/30"], last: "10.0.2.2", expect: "10.0.0.2" },
      { subnets: ["10.0.0.0/29"], last: " 10.0.0.3\n", expect: "10.0.0.4" },
      { subnets: ["10.0.0.0/29"], last: "garbage", expect: "10.0.0.2" },
      { subnets: ["10.0.0.0/29"], last: "2001:db8::3", expect: "10.0.0.2" },
    ];
    cases.forEach((c, i) => {
      it(`case ${i}: ${c.subnets.join(",")} taken [${c.taken?.join(",") ?? ""}] last ${JSON.stringify(c.last ?? null)} -> ${c.expect}`, () => {
        const store = new MemoryStore(
          Object.fromEntries((c.taken ?? []).map((a) => [a, "id"])),
          c.last === undefined ? [] : [c.last],
        );
        const [ip] = one(store, rangeSets([c.subnets]));
        expect(ip?.split("/")[0]).to.equal(c.expect);
        expect(store.lastReserved(0)).to.equal(c.expect);
      });
    });

    it("hands out the next address after a release, not the released one", () => {
      const store = new MemoryStore();
      const sets = rangeSets([["192.168.1.0/29"]]);
      expect(one(store, sets)).to.deep.equal(["192.168.1.2/29"]);
      store.release("192.168.1.2");
      expect(one(store, sets)).to.deep.equal(["192.168.1.3/29"]);
    });
  });

  describe("exhaustion", () => {
    it("never allocates the broadcast address, then reports the set", () => {
      const store = new MemoryStore();
      const sets = rangeSets([["192.168.1.0/29"]]);
      for (let i = 2; i < 7; i++) {
        expect(one(store, sets, { containerId: `ID${i}`, ifName: "eth0" })).to.deep.equal([`192.168.1.${i}/29`]);
      }
      expect(allocationError(() => one(store, sets, { containerId: "ID8", ifName: "eth0" }))).to.equal(
        "failed to allocate for range 0: no IP addresses available in range set: 192.168.1.1-192.168.1.6",
      );
    });

    it("reports a full multi-range set with every range", () => {
      const store = new MemoryStore({ "10.0.0.2": "id", "10.0.1.2": "id" });
      expect(allocationError(() => one(store, rangeSets([["10.0.0.0/30", "10.0.1.0/30"]])))).to.equal(
        "failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2",
      );
    });

    it("releases the earlier sets' addresses when a later set is full", () => {
      const store = new MemoryStore({ "2001:db8::2": "other", "2001:db8::3": "other" });
      const sets = rangeSets([["10.0.0.0/24"], ["2001:db8::/126"]]);
      expect(allocationError(() => one(store, sets))).to.match(/^failed to allocate for range 1: no IP addresses/);
      expect(store.addressesOf("ID")).to.deep.equal([]);
    });
  });

  describe("dual stack and per-interface allocation", () => {
    it("gives one address per set with its gateway, in set order", () => {
      const store = new MemoryStore();
      const sets = rangeSets([["10.1.2.0/24"], ["2001:db8:1::/64"]]);
      expect(allocate(store, sets, POD, [])).to.deep.equal([
        { address: "10.1.2.2/24", gateway: "10.1.2.1" },
        { address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" },
      ]);
      expect([store.lastReserved(0), store.lastReserved(1)]).to.deep.equal(["10.1.2.2", "2001:db8:1::2"]);
    });

    it("two subnets in one set: one address, from the first", () => {
      const store = new MemoryStore();
      expect(one(store, rangeSets([["10.1.2.0/24", "10.1.3.0/24"]]))).to.deep.equal(["10.1.2.2/24"]);
    });

    it("refuses a repeated ADD for the same attachment, with or without a requested address", () => {
      const store = new MemoryStore();
      const sets = rangeSets([["10.1.2.0/24"], ["2001:db8:1::/64"]]);
      one(store, sets);
      expect(allocationError(() => one(store, sets))).to.equal(
        "failed to allocate for range 0: 10.1.2.2 has been allocated to ID, duplicate allocation is not allowed",
      );
      expect(allocationError(() => one(store, sets, POD, [address("2001:db8:1::9")]))).to.match(
        /^failed to allocate for range 0: 10\.1\.2\.2 has been allocated to ID/,
      );
      expect(store.addressesOf("ID")).to.deep.equal(["10.1.2.2", "2001:db8:1::2"]);
    });

    it("allocates again for another interface of the same container, and refuses an old-format holder", () => {
      const store = new MemoryStore();
      const sets = rangeSets([["10.1.2.0/24"]]);
      one(store, sets);
      expect(one(store, sets, { containerId: "ID", ifName: "net1" })).to.deep.equal(["10.1.2.3/24"]);
      const legacy = new MemoryStore({ "10.1.2.9": "ID" });
      expect(allocationError(() => one(legacy, sets))).to.match(/10\.1\.2\.9 has been allocated to ID/);
    });
  });

  describe("requested addresses", () => {
    const sets = () => rangeSets([["10.1.2.0/24", "10.1.3.0/24"], ["2001:db8:1::/64"]]);

    it("places each in the set that contains it, whatever the order and family", () => {
      const store = new MemoryStore();
      const ips = one(store, sets(), POD, [address("2001:db8:1::99"), address("10.1.3.77")]);
      expect(ips).to.deep.equal(["10.1.3.77/24", "2001:db8:1::99/64"]);
      expect([store.lastReserved(0), store.lastReserved(1)]).to.deep.equal(["10.1.3.77", "2001:db8:1::99"]);
    });

    it("allocates dynamically in the sets no request falls in", () => {
      const store = new MemoryStore();
      expect(one(store, sets(), POD, [address("2001:db8:1::99")])).to.deep.equal(["10.1.2.2/24", "2001:db8:1::99/64"]);
    });

    it("refuses a taken address", () => {
      const store = new MemoryStore({ "10.1.2.5": "other" });
      expect(allocationError(() => one(store, sets(), POD, [address("10.1.2.5")]))).to.equal(
        "failed to allocate for range 0: requested IP address 10.1.2.5 is not available in range set 10.1.2.1-10.1.2.254,10.1.3.1-10.1.3.254",
      );
    });

    it("refuses the gateway, the network and the broadcast address", () => {
      const store = new MemoryStore();
      expect(allocationError(() => one(store, sets(), POD, [address("10.1.2.1")]))).to.equal(
        "failed to allocate for range 0: requested ip 10.1.2.1 is subnet's gateway",
      );
      const edges = rangeSets([[{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.0", rangeEnd: "10.0.0.255" }]]);
      for (const edge of ["10.0.0.0", "10.0.0.255"]) {
        expect(allocationError(() => one(store, edges, POD, [address(edge)]))).to.equal(
          `failed to allocate for range 0: requested ip ${edge} is the network or broadcast address`,
        );
      }
    });

    it("fails and releases everything when a request fits no set (outside, before rangeStart, a second one in a set)", () => {
      const narrow = rangeSets([[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10", rangeEnd: "10.1.2.20" }]]);
      for (const requested of [["10.9.9.9"], ["10.1.2.5"], ["10.1.2.21"], ["10.1.2.11", "10.1.2.12"]]) {
        const store = new MemoryStore();
        expect(
          allocationError(() => one(store, narrow, POD, requested.map(address))),
          requested.join(),
        ).to.equal(`failed to allocate all requested IPs: ${requested.at(-1)}`);
        expect(store.addressesOf("ID")).to.deep.equal([]);
      }
    });

    it("a store failure after a reservation releases it and what came before", () => {
      class FailingMarkers extends MemoryStore {
        override recordLastReserved(index: number, address: string): void {
          if (index === 1) throw new Error("disk full");
          super.recordLastReserved(index, address);
        }
      }
      const store = new FailingMarkers();
      expect(() => one(store, sets())).to.throw("disk full");
      expect(store.addressesOf("ID")).to.deep.equal([]);
    });

    it("a failure in a later set releases only what this ADD reserved", () => {
      const store = new MemoryStore({ "2001:db8:1::5": "other" });
      expect(allocationError(() => one(store, sets(), POD, [address("10.1.2.50"), address("2001:db8:1::5")]))).to.match(
        /^failed to allocate for range 1: requested IP address 2001:db8:1::5 is not available/,
      );
      expect(store.addressesOf("ID")).to.deep.equal([]);
      expect(store.addressesOf("other")).to.deep.equal(["2001:db8:1::5"]);
    });
  });

  describe("selections", () => {
    const reservations: Reservation[] = [
      { address: "10.0.0.2", containerId: "a", ifName: "eth0" },
      { address: "10.0.0.3", containerId: "a", ifName: "net1" },
      { address: "10.0.0.4", containerId: "b", ifName: "eth0" },
      { address: "10.0.0.5", containerId: "c", ifName: undefined },
      { address: "10.0.0.6", containerId: "c", ifName: undefined },
    ];
    const addresses = (list: readonly Reservation[]) => list.map((r) => r.address);

    it("DEL: the attachment's reservations; old-format ones of the container only when none matches", () => {
      expect(addresses(ownedBy(reservations, { containerId: "a", ifName: "eth0" }))).to.deep.equal(["10.0.0.2"]);
      expect(addresses(ownedBy(reservations, { containerId: "c", ifName: "eth0" }))).to.deep.equal([
        "10.0.0.5",
        "10.0.0.6",
      ]);
      expect(addresses(ownedBy(reservations, { containerId: "a", ifName: "eth9" }))).to.deep.equal([]);
      expect(addresses(ownedBy(reservations, { containerId: "z", ifName: "eth0" }))).to.deep.equal([]);
    });

    it("GC: every reservation not of a valid attachment; old-format ones stay while their container is valid", () => {
      expect(addresses(staleReservations(reservations, [{ containerId: "a", ifName: "eth0" }]))).to.deep.equal([
        "10.0.0.3",
        "10.0.0.4",
        "10.0.0.5",
        "10.0.0.6",
      ]);
      expect(addresses(staleReservations(reservations, [{ containerId: "c", ifName: "eth1" }]))).to.deep.equal([
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.4",
      ]);
      expect(addresses(staleReservations(reservations, []))).to.deep.equal(addresses(reservations));
      const everyone = reservations.map((r) => ({ containerId: r.containerId, ifName: r.ifName ?? "eth0" }));
      expect(staleReservations(reservations, everyone)).to.deep.equal([]);
    });

    it("STATUS: the sets with no address left, counting only allocatable addresses", () => {
      const sets = rangeSets([["10.0.0.0/30"], ["2001:db8::/126"]]);
      const held = (...list: string[]): Reservation[] =>
        list.map((a) => ({ address: a, containerId: "x", ifName: "eth0" }));
      expect(exhaustedRangeSets(held(), sets)).to.deep.equal([]);
      expect(exhaustedRangeSets(held("10.0.0.2"), sets)).to.deep.equal([0]);
      // Files for addresses the range cannot hand out (the gateway, outside it) free nothing up.
      expect(exhaustedRangeSets(held("10.0.0.1", "10.0.0.3", "10.9.9.9", "2001:db8::2"), sets)).to.deep.equal([]);
      expect(exhaustedRangeSets(held("10.0.0.2", "2001:db8::2", "2001:db8::3", "not-an-ip"), sets)).to.deep.equal([
        0, 1,
      ]);
    });
  });
});

// host-local through the compiled binary: results in every spec version, the exact files it
// leaves in its data dir (read back with node:fs), DEL/CHECK variants, GC and STATUS by direct
// invocation, and concurrent ADDs.

import { expect } from "chai";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { SPEC_VERSIONS } from "../../../cni/version";
import { runOk } from "../../helpers/run";
import { REPO_ROOT, suiteDir } from "../../helpers/suite";
import { HostLocalBed, OURS } from "./host-local-bed";

const DUAL_STACK = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] };

describe("host-local plugin (compiled binary)", () => {
  let bed: HostLocalBed;

  afterEach(() => bed.remove());

  describe("ADD", () => {
    beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));

    it("reserves one address per range set and leaves the reference's files, private", () => {
      const added = bed.call(OURS(), "ADD", {
        ipam: { routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "2001:db8:1::fe" }] },
      });
      expect(added.status, added.stdout).to.equal(0);
      expect(added.json).to.deep.equal({
        cniVersion: "1.0.0",
        ips: [
          { address: "10.1.2.2/24", gateway: "10.1.2.1" },
          { address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" },
        ],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "2001:db8:1::fe" }],
      });
      expect(bed.files()).to.deep.equal({
        "10.1.2.2": { content: "ctr-1\r\neth0", mode: 0o600 },
        "2001:db8:1::2": { content: "ctr-1\r\neth0", mode: 0o600 },
        "last_reserved_ip.0": { content: "10.1.2.2", mode: 0o600 },
        "last_reserved_ip.1": { content: "2001:db8:1::2", mode: 0o600 },
        lock: { content: "", mode: 0o600 },
      });
      expect(statSync(bed.networkDir).mode & 0o7777).to.equal(0o700);
      expect(statSync(bed.dataDir).mode & 0o7777).to.equal(0o700);
    });

    it("answers in every spec version", () => {
      SPEC_VERSIONS.forEach((cniVersion, i) => {
        const containerId = `ctr-${i}`;
        const added = bed.call(OURS(), "ADD", { cniVersion, containerId });
        expect(added.status, `${cniVersion}: ${added.stdout}`).to.equal(0);
        expect(added.json?.["cniVersion"]).to.equal(cniVersion);
        const n = i + 2;
        if (cniVersion === "0.1.0" || cniVersion === "0.2.0") {
          expect(added.json?.["ip4"]).to.deep.equal({ ip: `10.1.2.${n}/24`, gateway: "10.1.2.1" });
          expect(added.json?.["ip6"]).to.deep.equal({ ip: `2001:db8:1::${n}/64`, gateway: "2001:db8:1::1" });
        } else {
          const ips = added.json?.["ips"] as Record<string, unknown>[];
          const version = cniVersion.startsWith("0.") ? [{ version: "4" }, { version: "6" }] : [{}, {}];
          expect(ips).to.deep.equal([
            { ...version[0], address: `10.1.2.${n}/24`, gateway: "10.1.2.1" },
            { ...version[1], address: `2001:db8:1::${n}/64`, gateway: "2001:db8:1::1" },
          ]);
        }
      });
    });

    it("refuses a repeated ADD of the same attachment and leaves its reservation alone", () => {
      expect(bed.call(OURS(), "ADD").status).to.equal(0);
      const before = bed.files();
      const again = bed.call(OURS(), "ADD");
      expect(again.status).to.equal(1);
      expect(again.json?.["code"]).to.equal(999);
      expect(again.json?.["msg"]).to.equal(
        "failed to allocate for range 0: 10.1.2.2 has been allocated to ctr-1, duplicate allocation is not allowed",
      );
      expect(bed.files()).to.deep.equal(before);
      const otherInterface = bed.call(OURS(), "ADD", { ifName: "net1" });
      expect(HostLocalBed.addresses(otherInterface)).to.deep.equal(["10.1.2.3", "2001:db8:1::3"]);
    });

    it("gives requested addresses from CNI_ARGS, args.cni.ips and runtimeConfig.ips", () => {
      const fromEnv = bed.call(OURS(), "ADD", { containerId: "a", env: { CNI_ARGS: "IgnoreUnknown=1;IP=10.1.2.50" } });
      expect(HostLocalBed.addresses(fromEnv)).to.deep.equal(["10.1.2.50", "2001:db8:1::2"]);
      const fromArgs = bed.call(OURS(), "ADD", {
        containerId: "b",
        extra: { args: { cni: { ips: ["2001:db8:1::77"] } }, runtimeConfig: { ips: ["10.1.2.60/24"] } },
      });
      expect(HostLocalBed.addresses(fromArgs)).to.deep.equal(["10.1.2.60", "2001:db8:1::77"]);
      const taken = bed.call(OURS(), "ADD", { containerId: "c", extra: { args: { cni: { ips: ["10.1.2.50"] } } } });
      expect(taken.json?.["msg"]).to.equal(
        "failed to allocate for range 0: requested IP address 10.1.2.50 is not available in range set 10.1.2.1-10.1.2.254",
      );
      const nowhere = bed.call(OURS(), "ADD", { containerId: "d", env: { CNI_ARGS: "IP=192.0.2.1" } });
      expect([nowhere.json?.["code"], nowhere.json?.["msg"]]).to.deep.equal([
        4,
        "CNI_ARGS IP: 192.0.2.1 is in none of the ranges",
      ]);
      expect(Object.keys(bed.reservations()).sort()).to.deep.equal([
        "10.1.2.50",
        "10.1.2.60",
        "2001:db8:1::2",
        "2001:db8:1::77",
      ]);
      const unknownArg = bed.call(OURS(), "ADD", { containerId: "e", env: { CNI_ARGS: "K8S_POD_NAME=x" } });
      expect(unknownArg.json?.["code"]).to.equal(4);
    });

    it("prepends the ipRanges capability, and reports DNS from resolvConf", () => {
      const resolvConf = join(bed.root, "resolv.conf");
      writeFileSync(resolvConf, "nameserver 10.96.0.10\nsearch svc.cluster.local\noptions ndots:5\n");
      const added = bed.call(OURS(), "ADD", {
        ipam: { resolvConf },
        extra: { runtimeConfig: { ipRanges: [[{ subnet: "192.168.7.0/28", rangeStart: "192.168.7.9" }]] } },
      });
      expect(HostLocalBed.addresses(added)).to.deep.equal(["192.168.7.9", "10.1.2.2", "2001:db8:1::2"]);
      expect(added.json?.["dns"]).to.deep.equal({
        nameservers: ["10.96.0.10"],
        search: ["svc.cluster.local"],
        options: ["ndots:5"],
      });
      expect(bed.files()["last_reserved_ip.0"]?.content).to.equal("192.168.7.9");
      const missing = bed.call(OURS(), "ADD", { containerId: "x", ipam: { resolvConf: join(bed.root, "nope") } });
      expect([missing.json?.["code"], missing.json?.["msg"]]).to.deep.equal([
        5,
        `ipam.resolvConf: cannot read ${join(bed.root, "nope")}`,
      ]);
    });

    it("refuses an invalid config with code 7, naming the key, and creates nothing", () => {
      const added = bed.call(OURS(), "ADD", { ipam: { ranges: [[{ subnet: "10.1.2.0/31" }]] } });
      expect(added.json?.["code"]).to.equal(7);
      expect(added.json?.["msg"]).to.equal("ipam.ranges[0][0].subnet: network 10.1.2.0/31 too small to allocate from");
      expect(existsSync(bed.dataDir)).to.equal(false);
    });

    it("fails with code 5 when the data dir cannot be created", () => {
      const file = join(bed.root, "a-file");
      writeFileSync(file, "");
      const added = bed.call(OURS(), "ADD", { ipam: { dataDir: join(file, "networks") } });
      expect(added.json?.["code"]).to.equal(5);
      expect(added.json?.["msg"]).to.match(new RegExp(`^cannot create or open ${file}/networks/hl-net: .*ENOTDIR`));
    });
  });

  describe("exhaustion and rollback", () => {
    beforeEach(
      () => (bed = new HostLocalBed({ ranges: [[{ subnet: "10.1.2.0/29" }], [{ subnet: "2001:db8:1::/126" }]] })),
    );

    it("never hands out the broadcast; a full later set releases the earlier set's address", () => {
      const first = bed.call(OURS(), "ADD", { containerId: "a" });
      const second = bed.call(OURS(), "ADD", { containerId: "b" });
      expect([HostLocalBed.addresses(first), HostLocalBed.addresses(second)]).to.deep.equal([
        ["10.1.2.2", "2001:db8:1::2"],
        ["10.1.2.3", "2001:db8:1::3"],
      ]);
      const third = bed.call(OURS(), "ADD", { containerId: "c" });
      expect(third.status).to.equal(1);
      expect(third.json?.["msg"]).to.equal(
        "failed to allocate for range 1: no IP addresses available in range set: 2001:db8:1::1-2001:db8:1::3",
      );
      expect(Object.values(bed.reservations()).filter((owner) => owner.startsWith("c\r\n"))).to.deep.equal([]);
    });
  });

  describe("DEL", () => {
    beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));

    it("releases the attachment's addresses only, keeps the markers, and succeeds again", () => {
      bed.call(OURS(), "ADD", { containerId: "a" });
      bed.call(OURS(), "ADD", { containerId: "a", ifName: "net1" });
      bed.call(OURS(), "ADD", { containerId: "b" });
      expect(bed.call(OURS(), "DEL", { containerId: "a" }).status).to.equal(0);
      expect(bed.reservations()).to.deep.equal({
        "10.1.2.3": "a\r\nnet1",
        "10.1.2.4": "b\r\neth0",
        "2001:db8:1::3": "a\r\nnet1",
        "2001:db8:1::4": "b\r\neth0",
      });
      expect(Object.keys(bed.files())).to.include.members(["lock", "last_reserved_ip.0", "last_reserved_ip.1"]);
      const again = bed.call(OURS(), "DEL", { containerId: "a" });
      expect([again.status, again.stdout]).to.deep.equal([0, ""]);
      expect(bed.call(OURS(), "DEL", { containerId: "never-added" }).status).to.equal(0);
    });

    it("releases the old container-only format when nothing matches (container, ifname)", () => {
      bed.call(OURS(), "ADD", { containerId: "b" });
      writeFileSync(join(bed.networkDir, "10.1.2.100"), "old");
      writeFileSync(join(bed.networkDir, "2001:db8:1::100"), "old\n");
      expect(bed.call(OURS(), "DEL", { containerId: "old" }).status).to.equal(0);
      expect(Object.keys(bed.reservations())).to.deep.equal(["10.1.2.2", "2001:db8:1::2"]);
    });

    it("removes what a writer killed mid-write left (an empty reservation, a marker's temporary file), and only that", () => {
      bed.call(OURS(), "ADD", { containerId: "a" });
      // A plugin SIGKILLed between creating a reservation and writing its owner leaves an empty file
      // that no DEL matches; one killed while replacing a marker leaves its temporary file.
      writeFileSync(join(bed.networkDir, "10.1.2.3"), "");
      writeFileSync(join(bed.networkDir, "2001:db8:1::3"), " \r\n");
      writeFileSync(join(bed.networkDir, "last_reserved_ip.0.tmp"), "");
      expect(bed.call(OURS(), "DEL", { containerId: "unrelated" }).status).to.equal(0);
      expect(Object.keys(bed.files()).sort()).to.deep.equal([
        "10.1.2.2",
        "2001:db8:1::2",
        "last_reserved_ip.0",
        "last_reserved_ip.1",
        "lock",
      ]);
      // The addresses are free again: the next ADD gets them.
      writeFileSync(join(bed.networkDir, "10.1.2.3"), "");
      const added = bed.call(OURS(), "ADD", { containerId: "b" });
      expect(added.json?.["ips"]).to.deep.include({ address: "10.1.2.3/24", gateway: "10.1.2.1" });
      expect(bed.reservations()["10.1.2.3"]).to.equal("b\r\neth0");
    });

    it("succeeds without CNI_NETNS, with the namespace gone, with ranges that no longer parse, and without a data dir", () => {
      bed.call(OURS(), "ADD", { containerId: "a" });
      bed.call(OURS(), "ADD", { containerId: "b" });
      bed.call(OURS(), "ADD", { containerId: "c" });
      expect(bed.call(OURS(), "DEL", { containerId: "a", netns: "" }).status).to.equal(0);
      expect(bed.call(OURS(), "DEL", { containerId: "b", netns: "/run/netns/tscni-gone" }).status).to.equal(0);
      const broken = bed.call(OURS(), "DEL", { containerId: "c", ipam: { ranges: [[{ subnet: "nonsense" }]] } });
      expect(broken.status, broken.stdout).to.equal(0);
      expect(bed.reservations()).to.deep.equal({});
      const elsewhere = join(bed.root, "never-created");
      expect(bed.call(OURS(), "DEL", { ipam: { dataDir: elsewhere } }).status).to.equal(0);
      expect(existsSync(elsewhere)).to.equal(false);
    });
  });

  describe("CHECK", () => {
    beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));

    it("passes for an attachment holding an address, fails otherwise", () => {
      const added = bed.call(OURS(), "ADD");
      const prevResult = added.json;
      const checked = bed.call(OURS(), "CHECK", { extra: { prevResult } });
      expect([checked.status, checked.stdout]).to.deep.equal([0, ""]);
      expect(bed.call(OURS(), "CHECK").status).to.equal(0);
      const unknown = bed.call(OURS(), "CHECK", { containerId: "other" });
      expect(unknown.json?.["msg"]).to.equal("host-local: Failed to find address added by container other");
      const noDir = bed.call(OURS(), "CHECK", { ipam: { dataDir: join(bed.root, "none") } });
      expect(noDir.status).to.equal(1);
    });

    it("fails when an address of prevResult is not reserved for the attachment", () => {
      bed.call(OURS(), "ADD");
      const prevResult = {
        cniVersion: "1.0.0",
        ips: [{ address: "10.1.2.9/24", gateway: "10.1.2.1" }],
      };
      const checked = bed.call(OURS(), "CHECK", { extra: { prevResult } });
      expect(checked.json?.["msg"]).to.equal("host-local: 10.1.2.9 is not reserved for container ctr-1 interface eth0");
    });
  });

  describe("GC (spec 1.1.0, by direct invocation)", () => {
    beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));

    it("releases every reservation not in the valid list, and nothing else", () => {
      for (const containerId of ["keep", "drop"]) bed.call(OURS(), "ADD", { containerId, cniVersion: "1.1.0" });
      bed.call(OURS(), "ADD", { containerId: "keep", ifName: "net1", cniVersion: "1.1.0" });
      writeFileSync(join(bed.networkDir, "10.1.2.200"), "keep");
      writeFileSync(join(bed.networkDir, "10.1.2.201"), "gone");
      writeFileSync(join(bed.networkDir, "notes.txt"), "drop\r\neth0");
      mkdirSync(join(bed.networkDir, "10.1.2.202"));
      const gc = bed.call(OURS(), "GC", {
        cniVersion: "1.1.0",
        extra: { "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] },
      });
      expect([gc.status, gc.stdout]).to.deep.equal([0, ""]);
      expect(Object.keys(bed.files())).to.deep.equal([
        "10.1.2.2",
        "10.1.2.200",
        "10.1.2.202",
        "2001:db8:1::2",
        "last_reserved_ip.0",
        "last_reserved_ip.1",
        "lock",
        "notes.txt",
      ]);
    });

    it("accepts the older cni.dev/attachments key; an empty list releases everything; no list, nothing", () => {
      bed.call(OURS(), "ADD", { containerId: "a" });
      bed.call(OURS(), "ADD", { containerId: "b" });
      const gc = (extra: Record<string, unknown>) => bed.call(OURS(), "GC", { cniVersion: "1.1.0", extra });
      expect(gc({}).status).to.equal(0);
      expect(Object.keys(bed.reservations())).to.have.length(4);
      expect(gc({ "cni.dev/attachments": [{ containerID: "b", ifname: "eth0" }] }).status).to.equal(0);
      expect(Object.keys(bed.reservations())).to.deep.equal(["10.1.2.3", "2001:db8:1::3"]);
      expect(gc({ "cni.dev/valid-attachments": [] }).status).to.equal(0);
      expect(bed.reservations()).to.deep.equal({});
      const older = bed.call(OURS(), "GC", { cniVersion: "1.0.0", extra: { "cni.dev/valid-attachments": [] } });
      expect(older.json?.["code"]).to.equal(1);
    });
  });

  describe("STATUS (spec 1.1.0, by direct invocation)", () => {
    const status = (ipam: Record<string, unknown> = {}) => bed.call(OURS(), "STATUS", { cniVersion: "1.1.0", ipam });

    it("is ready with free addresses, also before the first ADD, and creates nothing", () => {
      bed = new HostLocalBed(DUAL_STACK);
      expect([status().status, status().stdout]).to.deep.equal([0, ""]);
      expect(existsSync(bed.dataDir)).to.equal(false);
      bed.call(OURS(), "ADD", { cniVersion: "1.1.0" });
      expect(status().status).to.equal(0);
    });

    it("answers 50 when a range set is exhausted", () => {
      bed = new HostLocalBed({ ranges: [[{ subnet: "10.1.2.0/30" }], [{ subnet: "2001:db8:1::/64" }]] });
      bed.call(OURS(), "ADD", { cniVersion: "1.1.0" });
      const full = status();
      expect(full.status).to.equal(1);
      expect(full.json?.["code"]).to.equal(50);
      expect(full.json?.["msg"]).to.equal("no IP addresses available in range set: 10.1.2.1-10.1.2.2");
      bed.call(OURS(), "DEL", { cniVersion: "1.1.0" });
      expect(status().status).to.equal(0);
    });

    it("answers 50 when the data dir cannot be used", () => {
      bed = new HostLocalBed(DUAL_STACK);
      const file = join(bed.root, "a-file");
      writeFileSync(file, "");
      const underFile = status({ dataDir: join(file, "networks") });
      expect([underFile.json?.["code"], underFile.json?.["msg"]]).to.deep.equal([
        50,
        "host-local data dir is not usable",
      ]);
      expect(underFile.json?.["details"]).to.contain(file);
      mkdirSync(join(bed.root, "networks"));
      writeFileSync(join(bed.root, "networks", "hl-net"), "");
      const networkIsFile = status();
      expect(networkIsFile.json?.["code"]).to.equal(50);
      expect(networkIsFile.json?.["details"]).to.equal(`${bed.networkDir} is not a directory`);
    });
  });

  describe("concurrency", () => {
    beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));

    it("20 ADDs at once get 20 distinct addresses per family; 20 DELs at once leave none", async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `ctr-${i}`);
      const added = await bed.callConcurrently(
        ids.map((containerId) => ({ plugin: OURS(), command: "ADD", call: { containerId } })),
      );
      expect(added.map((reply) => reply.status)).to.deep.equal(ids.map(() => 0));
      const addresses = added.flatMap(HostLocalBed.addresses);
      expect(new Set(addresses).size).to.equal(40);
      expect(Object.keys(bed.reservations())).to.have.members(addresses);
      const deleted = await bed.callConcurrently(
        ids.map((containerId) => ({ plugin: OURS(), command: "DEL", call: { containerId } })),
      );
      expect(deleted.map((reply) => reply.status)).to.deep.equal(ids.map(() => 0));
      expect(bed.reservations()).to.deep.equal({});
    });

    it("holds the exclusive lock on <dir>/lock while it reads and writes reservations", async () => {
      bed.call(OURS(), "ADD", { containerId: "a" });
      const before = bed.reservations();
      const holder = await bed.holdLock();
      const pending = bed.start(OURS(), "ADD", { containerId: "b" });
      try {
        expect(await HostLocalBed.waitInFlock(pending.pid)).to.equal(true);
        expect(bed.reservations()).to.deep.equal(before);
      } finally {
        await holder.release();
      }
      expect(HostLocalBed.addresses(await pending.reply)).to.deep.equal(["10.1.2.3", "2001:db8:1::3"]);
    });

    it("of 12 ADDs at once for one attachment, exactly one succeeds (the lock covers the duplicate check)", async () => {
      const added = await bed.callConcurrently(
        Array.from({ length: 12 }, () => ({ plugin: OURS(), command: "ADD", call: { containerId: "same" } })),
      );
      expect(added.filter((reply) => reply.status === 0)).to.have.length(1);
      expect(Object.keys(bed.reservations())).to.have.length(2);
    });
  });

  describe("as a delegate (how bridge and flannel run it)", () => {
    // The delegation fixture runs under Bun, the runtime of the shipped binary.
    const delegate = (mode: "in-process" | "exec", target: HostLocalBed, command: string) =>
      JSON.parse(
        runOk(
          join(REPO_ROOT, "node_modules/.bin/bun"),
          [join(REPO_ROOT, "test/fixtures/delegation/delegate.ts"), mode, OURS()],
          {
            input: JSON.stringify({
              command,
              type: "host-local",
              configVersion: "1.0.0",
              stdin: JSON.stringify(target.config()),
              env: { PATH: "/usr/bin:/bin", ...target.env(command, {}), CNI_PATH: suiteDir() },
            }),
          },
        ),
      ) as Record<string, unknown>;

    it("runs in the caller's process with the outcome and files of an exec", () => {
      bed = new HostLocalBed(DUAL_STACK);
      const twin = new HostLocalBed(DUAL_STACK);
      try {
        const { execs: execCount, ...viaExec } = delegate("exec", bed, "ADD");
        const { execs: inProcessExecs, ...inProcess } = delegate("in-process", twin, "ADD");
        expect([execCount, inProcessExecs]).to.deep.equal([1, 0]);
        expect(viaExec["ok"], JSON.stringify(viaExec)).to.equal(true);
        expect(inProcess).to.deep.equal(viaExec);
        expect(twin.files()).to.deep.equal(bed.files());
        expect(delegate("in-process", twin, "DEL")["ok"]).to.equal(true);
        expect(twin.reservations()).to.deep.equal({});
      } finally {
        twin.remove();
      }
    });
  });
});

// Our host-local and the reference one (Debian's containernetworking-plugins, /usr/lib/cni) sharing
// one data dir, as on a node being migrated: they continue each other's round robin, never hand out
// the same address, release and check each other's reservations, refuse each other's duplicates,
// wait on the same lock, and write the same bytes.

import { expect } from "chai";

import { HostLocalBed, OURS, REFERENCE } from "./host-local-bed";

const DUAL_STACK = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] };

describe("host-local interoperability with the reference plugin", () => {
  let bed: HostLocalBed;

  beforeEach(() => (bed = new HostLocalBed(DUAL_STACK)));
  afterEach(() => bed.remove());

  it("allocating alternately from one data dir continues one round robin with distinct addresses", () => {
    const plugins = [OURS(), REFERENCE, OURS(), REFERENCE, OURS(), REFERENCE];
    const addresses = plugins.map((plugin, i) => {
      const added = bed.call(plugin, "ADD", { containerId: `ctr-${i}` });
      expect(added.status, `${plugin}: ${added.stdout}`).to.equal(0);
      return HostLocalBed.addresses(added);
    });
    expect(addresses).to.deep.equal([2, 3, 4, 5, 6, 7].map((n) => [`10.1.2.${n}`, `2001:db8:1::${n}`]));
    // A released address is not handed out again until the range wraps, whoever allocates next.
    expect(bed.call(REFERENCE, "DEL", { containerId: "ctr-5" }).status).to.equal(0);
    expect(HostLocalBed.addresses(bed.call(OURS(), "ADD", { containerId: "ctr-6" }))).to.deep.equal([
      "10.1.2.8",
      "2001:db8:1::8",
    ]);
  });

  it("each releases and checks the other's reservations", () => {
    expect(bed.call(REFERENCE, "ADD", { containerId: "theirs" }).status).to.equal(0);
    expect(bed.call(OURS(), "ADD", { containerId: "ours" }).status).to.equal(0);
    expect(bed.call(OURS(), "CHECK", { containerId: "theirs" }).status).to.equal(0);
    expect(bed.call(REFERENCE, "CHECK", { containerId: "ours" }).status).to.equal(0);

    expect(bed.call(OURS(), "DEL", { containerId: "theirs" }).status).to.equal(0);
    expect(Object.values(bed.reservations())).to.deep.equal(["ours\r\neth0", "ours\r\neth0"]);
    expect(bed.call(REFERENCE, "DEL", { containerId: "ours" }).status).to.equal(0);
    expect(bed.reservations()).to.deep.equal({});
  });

  it("each refuses a repeated ADD of an attachment the other one added", () => {
    bed.call(REFERENCE, "ADD", { containerId: "a" });
    const ours = bed.call(OURS(), "ADD", { containerId: "a" });
    expect(ours.json?.["msg"]).to.equal(
      "failed to allocate for range 0: 10.1.2.2 has been allocated to a, duplicate allocation is not allowed",
    );
    bed.call(OURS(), "ADD", { containerId: "b" });
    const theirs = bed.call(REFERENCE, "ADD", { containerId: "b" });
    expect(theirs.json?.["msg"]).to.equal(
      "failed to allocate for range 0: 10.1.2.3 has been allocated to b, duplicate allocation is not allowed",
    );
  });

  it("writes the same files with the same bytes as the reference", () => {
    const theirs = new HostLocalBed(DUAL_STACK);
    try {
      const steps = [
        { command: "ADD", containerId: "a", ifName: "eth0" },
        { command: "ADD", containerId: "a", ifName: "net1" },
        { command: "ADD", containerId: "b", ifName: "eth0" },
        { command: "DEL", containerId: "a", ifName: "eth0" },
        { command: "ADD", containerId: "c", ifName: "eth0", env: { CNI_ARGS: "IP=10.1.2.77" } },
      ];
      for (const { command, ...call } of steps) {
        expect(bed.call(OURS(), command, call).status).to.equal(0);
        expect(theirs.call(REFERENCE, command, call).status).to.equal(0);
      }
      const contents = (files: ReturnType<HostLocalBed["files"]>) =>
        Object.fromEntries(Object.entries(files).map(([name, file]) => [name, file.content]));
      expect(contents(bed.files())).to.deep.equal(contents(theirs.files()));
      expect(Object.keys(bed.files())).to.have.length(9);
    } finally {
      theirs.remove();
    }
  });

  it("20 ADDs at once, half ours and half the reference's, get distinct addresses", async () => {
    const calls = Array.from({ length: 20 }, (_, i) => ({
      plugin: i % 2 === 0 ? OURS() : REFERENCE,
      command: "ADD",
      call: { containerId: `ctr-${i}` },
    }));
    const added = await bed.callConcurrently(calls);
    expect(added.map((reply) => reply.status)).to.deep.equal(calls.map(() => 0));
    const addresses = added.flatMap(HostLocalBed.addresses);
    expect(new Set(addresses).size).to.equal(40);
    expect(Object.keys(bed.reservations())).to.have.members(addresses);
  });

  it("the reference waits on the same lock file", async () => {
    bed.call(OURS(), "ADD", { containerId: "a" });
    const holder = await bed.holdLock();
    const pending = bed.start(REFERENCE, "ADD", { containerId: "b" });
    try {
      expect(await HostLocalBed.waitInFlock(pending.pid)).to.equal(true);
    } finally {
      await holder.release();
    }
    expect((await pending.reply).status).to.equal(0);
  });
});

// Request and response over one socket: acknowledgements, NLMSG_ERROR with extended acks
// (linux/netlink.h: struct nlmsgerr, NLMSGERR_ATTR_*), multipart dumps, and the typed errors.

import { expect } from "chai";

import { NetlinkConnection } from "../../../native/netlink/connection";
import { errnoName, isNetlinkError, LinkNotFoundError, NetlinkError } from "../../../native/netlink/errors";
import { NetlinkDecodeError } from "../../../native/netlink/wire";
import { concat, DONE, dump, frame, hex, NLM_F_MULTI, readU32 } from "./support/bytes";
import { ack, FakeKernel, fakeHandle, type Responder } from "./support/fake-kernel";

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_DUMP_INTR = 0x10;

const open = (...responders: Responder[]) => {
  const kernel = new FakeKernel(...responders);
  return { kernel, connection: NetlinkConnection.open(kernel, 0, null) };
};
const request = { operation: "linkGet eth0", type: RTM_GETLINK, body: new Uint8Array(16) };

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error: unknown) {
    return error;
  }
  throw new Error("expected an exception");
}

describe("netlink connection", () => {
  describe("requests", () => {
    it("sets REQUEST|ACK, numbers requests in sequence, and returns what precedes the ACK", () => {
      const reply: Responder = (sent) => [
        frame(RTM_NEWLINK, 0, hex`00 00 0000 03000000 00000000 00000000`),
        ...ack(sent),
      ];
      const { kernel, connection } = open(reply, reply);
      const first = connection.execute(request);
      connection.execute(request);
      expect(first.map((m) => [m.type, m.payload.length])).to.deep.equal([[RTM_NEWLINK, 16]]);
      const [a, b] = kernel.sent;
      expect(readU32(b ?? new Uint8Array(16), 8)).to.equal((readU32(a ?? new Uint8Array(16), 8) + 1) >>> 0);
      expect(dump(kernel.requests[0] ?? new Uint8Array())).to.equal(
        dump(hex`20000000 1200 0500 00000000 00000000  00000000 00000000 00000000 00000000`),
      );
    });

    it("skips replies to other sequence numbers and NLMSG_NOOP", () => {
      const stale = hex`20000000 1000 0000 99000000 00000000  00 00 0000 07000000 00000000 00000000  # seq 0x99`;
      const noop = hex`10000000 0100 0000 00000000 00000000  # NLMSG_NOOP`;
      const { connection } = open((sent) => [concat(stale, noop), ...ack(sent)]);
      expect(connection.execute(request)).to.deep.equal([]);
    });

    it("raises NetlinkError with the kernel's extended-ack message (capped ack)", () => {
      const eexist: Responder = (sent) => [
        concat(
          hex`48000000 0200 0003 00000000 00000000  # len 72, NLMSG_ERROR, NLM_F_CAPPED|NLM_F_ACK_TLVS`,
          hex`efffffff                               # error -17 (EEXIST)`,
          sent.subarray(0, 16), //                     the request's header only (capped)
          hex`
            2300 0100                                # NLMSGERR_ATTR_MSG len 35
            69707634 3a204164 64726573 7320616c 72656164 79206173 7369676e 6564 00 00  # "ipv4: Address already assigned" NUL
          `,
        ),
      ];
      const { handle } = fakeHandle(eexist);
      const error = thrown(() => handle.addrAdd(3, { cidr: "10.22.0.1/24" }));
      expect(error).to.be.instanceOf(NetlinkError);
      expect(error).to.include({
        name: "NetlinkError",
        errno: 17,
        code: "EEXIST",
        operation: "addrAdd #3 10.22.0.1/24",
        kernelMessage: "ipv4: Address already assigned",
        message: "addrAdd #3 10.22.0.1/24: EEXIST (ipv4: Address already assigned)",
      });
    });

    it("finds the extended-ack attributes after a whole echoed request (uncapped ack)", () => {
      const einval: Responder = (sent) => {
        expect(sent.length).to.equal(44);
        return [
          concat(
            hex`68000000 0200 0002 00000000 00000000  # len 104, NLMSG_ERROR, NLM_F_ACK_TLVS`,
            hex`eaffffff                               # error -22 (EINVAL)`,
            sent, //                                     the whole 44-byte request
            hex`
              2000 0100 4e657874 686f7020 68617320 696e7661 6c696420 67617465 77617900  # NLMSGERR_ATTR_MSG "Nexthop has invalid gateway"
              0800 0200 24000000                     # NLMSGERR_ATTR_OFFS 36
            `,
          ),
        ];
      };
      const { handle } = fakeHandle(einval);
      const error = thrown(() => handle.routeAdd({ dst: "10.9.0.0/16", gateway: "192.168.7.1" }));
      expect(error).to.include({ code: "EINVAL", errno: 22, kernelMessage: "Nexthop has invalid gateway" });
    });

    it("raises NetlinkError without a message when the kernel gives none", () => {
      const esrch: Responder = (sent) => [
        concat(hex`24000000 0200 0001 00000000 00000000 fdffffff`, sent.subarray(0, 16)),
      ];
      const { handle } = fakeHandle(esrch);
      const error = thrown(() => handle.routeDel({ dst: "10.99.0.0/16" }));
      expect(error).to.include({
        code: "ESRCH",
        errno: 3,
        kernelMessage: undefined,
        message: "routeDel 10.99.0.0/16: ESRCH",
      });
    });

    it("rejects a truncated NLMSG_ERROR with NetlinkDecodeError", () => {
      const { connection } = open(() => [hex`12000000 0200 0000 00000000 00000000 0000`]);
      expect(() => connection.execute(request)).to.throw(NetlinkDecodeError);
    });

    it("lets the addon's timeout through as a system error", () => {
      const { connection } = open(() => []);
      expect(thrown(() => connection.execute(request))).to.include({ code: "ETIMEDOUT", syscall: "poll" });
    });

    it("closes its descriptor once and refuses requests afterwards", () => {
      const { kernel, connection } = open();
      connection.close();
      connection.close();
      expect(kernel.closed).to.equal(1);
      expect(() => connection.execute(request)).to.throw(Error, /closed/);
    });
  });

  describe("dumps", () => {
    const link = (flags: number) => frame(RTM_NEWLINK, NLM_F_MULTI | flags, hex`00 00 0000 01000000 00000000 00000000`);

    it("collects messages over several datagrams until NLMSG_DONE", () => {
      const { kernel, connection } = open(() => [concat(link(0), link(0)), concat(link(0), DONE)]);
      expect(connection.dump(request)).to.have.length(3);
      expect(dump(kernel.requests[0]?.subarray(0, 8) ?? new Uint8Array())).to.equal(
        dump(hex`20000000 1200 0103  # REQUEST|DUMP, no ACK`),
      );
    });

    it("retries a dump the kernel marks NLM_F_DUMP_INTR", () => {
      const { kernel, connection } = open(
        () => [concat(link(NLM_F_DUMP_INTR), DONE)],
        () => [concat(link(0), link(0), DONE)],
      );
      expect(connection.dump(request)).to.have.length(2);
      expect(kernel.sent).to.have.length(2);
    });

    it("gives up with EINTR after five interrupted attempts", () => {
      const interrupted = () => [concat(link(NLM_F_DUMP_INTR), DONE)];
      const { connection } = open(interrupted, interrupted, interrupted, interrupted, interrupted);
      expect(thrown(() => connection.dump(request)))
        .to.be.instanceOf(NetlinkError)
        .with.property("code", "EINTR");
    });

    it("raises the error a dump ends with, in NLMSG_DONE or NLMSG_ERROR", () => {
      const doneWithError = () => [concat(link(0), hex`14000000 0300 0200 00000000 00000000 a1ffffff  # status -95`)];
      const error = (sent: Uint8Array) => [
        concat(hex`24000000 0200 0001 00000000 00000000 eaffffff`, sent.subarray(0, 16)),
      ];
      const { connection } = open(doneWithError, error);
      expect(thrown(() => connection.dump(request))).to.include({ code: "EOPNOTSUPP", operation: "linkGet eth0" });
      expect(thrown(() => connection.dump(request))).to.include({ code: "EINVAL" });
    });
  });

  describe("errors", () => {
    it("names errno values, falling back to E<number>", () => {
      expect([1, 2, 3, 11, 16, 17, 19, 22, 95, 101].map(errnoName)).to.deep.equal([
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EAGAIN",
        "EBUSY",
        "EEXIST",
        "ENODEV",
        "EINVAL",
        "EOPNOTSUPP",
        "ENETUNREACH",
      ]);
      expect(errnoName(4095)).to.equal("E4095");
    });

    it("lets callers branch on the code", () => {
      const error = new NetlinkError("linkAdd veth cni0", 17);
      expect(isNetlinkError(error)).to.equal(true);
      expect(isNetlinkError(error, "ENOENT", "EEXIST")).to.equal(true);
      expect(isNetlinkError(error, "ENOENT")).to.equal(false);
      expect(isNetlinkError(new Error("EEXIST"), "EEXIST")).to.equal(false);
      expect(error.message).to.equal("linkAdd veth cni0: EEXIST");
    });

    it("names a missing link by name or by index", () => {
      expect(new LinkNotFoundError("eth0").message).to.equal('link "eth0" not found');
      expect(new LinkNotFoundError(7)).to.include({ name: "LinkNotFoundError", link: 7, message: "link #7 not found" });
    });
  });
});

// The netlink wire format: nlmsghdr, attribute TLVs, padding and nesting (linux/netlink.h).

import { expect } from "chai";

import {
  align4,
  attr,
  Attributes,
  attributesLength,
  decodeMessages,
  encodeAttributes,
  encodeMessage,
  NetlinkDecodeError,
} from "../../../native/netlink/wire";
import { dump, hex } from "./support/bytes";

describe("netlink wire format", () => {
  it("aligns lengths to 4 bytes (NLMSG_ALIGN, NLA_ALIGN)", () => {
    expect([0, 1, 3, 4, 5, 9, 12].map(align4)).to.deep.equal([0, 4, 4, 4, 8, 12, 12]);
  });

  describe("encoding", () => {
    it("writes a request: header, family struct, attributes padded to 4 bytes", () => {
      const message = encodeMessage({ type: 18, flags: 0x5, seq: 1, pid: 0 }, new Uint8Array(16), [
        attr.string(3, "eth0"),
        attr.u32(29, 8),
      ]);
      expect(dump(message)).to.equal(
        dump(hex`
          34000000 1200 0500 01000000 00000000   # nlmsghdr: len 52, RTM_GETLINK, REQUEST|ACK, seq 1, pid 0
          00 00 0000 00000000 00000000 00000000  # ifinfomsg: all zero
          0900 0300 65746830 00 000000           # IFLA_IFNAME len 9 "eth0" NUL, 3 bytes of padding
          0800 1d00 08000000                     # IFLA_EXT_MASK len 8, RTEXT_FILTER_SKIP_STATS
        `),
      );
    });

    it("pads a family struct whose size is not a multiple of 4", () => {
      const message = encodeMessage({ type: 3, flags: 0, seq: 0x01020304, pid: 0x0a0b0c0d }, Uint8Array.of(7));
      expect(dump(message)).to.equal(
        dump(hex`
          14000000 0300 0000 04030201 0d0c0b0a   # nlmsghdr: len 20, type 3, seq and pid little endian
          07 000000                              # 1-byte body, padded
        `),
      );
    });

    it("encodes every scalar kind with its kernel size and byte order", () => {
      const bytes = encodeAttributes([
        attr.u8(1, 0xab),
        attr.u16(2, 0x1234),
        attr.u16be(3, 4789),
        attr.u32(4, 0xdeadbeef),
        attr.i32(5, -2),
        attr.flag(6),
        attr.bytes(7, Uint8Array.of(1, 2, 3, 4, 5, 6)),
      ]);
      expect(dump(bytes)).to.equal(
        dump(hex`
          0500 0100 ab 000000         # u8, 3 bytes of padding
          0600 0200 3412 0000         # u16 little endian
          0600 0300 12b5 0000         # u16 big endian: 4789 = 0x12b5
          0800 0400 efbeadde          # u32
          0800 0500 feffffff          # i32 -2
          0400 0600                   # flag: header only
          0a00 0700 010203040506 0000 # 6 raw bytes, 2 of padding
        `),
      );
    });

    it("nests attributes: NLA_F_NESTED set, a nest's length covers its padded children", () => {
      const attributes = [attr.nest(18, [attr.string(1, "vxlan"), attr.nest(2, [attr.u8(7, 0), attr.flag(23)])])];
      expect(attributesLength(attributes)).to.equal(32);
      expect(dump(encodeAttributes(attributes))).to.equal(
        dump(hex`
          2000 1280                       # IFLA_LINKINFO len 32, type 18 | NLA_F_NESTED (0x8000)
            0a00 0100 76786c61 6e00 0000  #   IFLA_INFO_KIND len 10 "vxlan" NUL, 2 bytes of padding
            1000 0280                     #   IFLA_INFO_DATA len 16, nested
              0500 0700 00 000000         #     IFLA_VXLAN_LEARNING 0, padded to 8
              0400 1700                   #     IFLA_VXLAN_GBP (flag)
        `),
      );
    });
  });

  describe("decoding messages", () => {
    it("splits a datagram into messages, honouring each one's padding", () => {
      const datagram = hex`
        11000000 1000 0200 07000000 2a000000   # len 17 (unaligned), RTM_NEWLINK, NLM_F_MULTI, seq 7, pid 42
        ff 000000                              # 1 byte of payload, then padding up to 20
        14000000 0300 0200 07000000 2a000000   # len 20, NLMSG_DONE, NLM_F_MULTI
        00000000                               # the dump's status: 0
      `;
      const messages = decodeMessages(datagram);
      expect(messages.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.length])).to.deep.equal([
        [16, 2, 7, 42, 1],
        [3, 2, 7, 42, 4],
      ]);
      expect(Array.from(messages[0]?.payload ?? [])).to.deep.equal([0xff]);
    });

    it("accepts a last message without trailing padding", () => {
      const datagram = hex`11000000 1000 0000 00000000 00000000  ff`;
      expect(decodeMessages(datagram)).to.have.length(1);
    });

    for (const [what, datagram] of [
      ["a length shorter than the header", hex`0f000000 1000 0000 00000000 00000000`],
      ["a length beyond the datagram", hex`20000000 1000 0000 00000000 00000000 00000000`],
      ["a truncated trailing header", hex`10000000 1000 0000 00000000 00000000  0c000000 0100`],
    ] as const) {
      it(`rejects ${what} with NetlinkDecodeError`, () => {
        expect(() => decodeMessages(datagram)).to.throw(NetlinkDecodeError, /malformed netlink data/);
      });
    }
  });

  describe("decoding attributes", () => {
    const attributes = Attributes.decode(hex`
      0500 0100 2a 000000          # type 1: u8 42
      0600 0200 3412 0000          # type 2: u16 0x1234
      0800 0300 ffffffff           # type 3: u32 / i32 -1
      0900 0400 6c6f 0000 00000000 # type 4: "lo" with a NUL inside the data (the string ends at the first NUL)
      0c00 0580                    # type 5 | NLA_F_NESTED
        0800 0100 0a000001         #   type 1: 10.0.0.1
      0600 0640 12b5 0000          # type 6 | NLA_F_NET_BYTEORDER: u16 4789 big endian
      0500 0100 07 000000          # type 1 again: the last one wins
      1400 0700 fd000000 00000000 00000000 00000001   # type 7: 16-byte address
    `);

    it("reads scalars, strings and addresses by type", () => {
      expect(attributes.u8(1)).to.equal(7);
      expect(attributes.all(1).map((d) => d[0])).to.deep.equal([42, 7]);
      expect(attributes.u16(2)).to.equal(0x1234);
      expect(attributes.u32(3)).to.equal(0xffffffff);
      expect(attributes.i32(3)).to.equal(-1);
      expect(attributes.string(4)).to.equal("lo");
      expect(attributes.ip(7)).to.equal("fd00::1");
      expect(attributes.has(8)).to.equal(false);
      expect(attributes.u32(8)).to.equal(undefined);
    });

    it("compares types without the NESTED and BYTEORDER bits", () => {
      expect(attributes.nested(5)?.ip(1, 4)).to.equal("10.0.0.1");
      expect(attributes.u16be(6)).to.equal(4789);
    });

    it("returns undefined for a scalar shorter than its type", () => {
      expect(attributes.u32(2)).to.equal(undefined);
    });

    it("rejects an address attribute of the wrong size", () => {
      expect(() => attributes.ip(3, 6)).to.throw(NetlinkDecodeError, /address attribute 3 of 4 bytes/);
      expect(() => attributes.ip(2)).to.throw(NetlinkDecodeError);
    });

    for (const [what, bytes] of [
      ["a length shorter than the attribute header", hex`0300 0100`],
      ["a length beyond the buffer", hex`0c00 0100 00000000`],
      ["bytes after the last attribute", hex`0800 0100 00000000 0000`],
    ] as const) {
      it(`rejects ${what} with NetlinkDecodeError`, () => {
        expect(() => Attributes.decode(bytes)).to.throw(NetlinkDecodeError);
      });
    }

    it("rejects a malformed nest when it is opened", () => {
      const outer = Attributes.decode(hex`0800 0180 0900 0100`);
      expect(() => outer.nested(1)).to.throw(NetlinkDecodeError);
    });
  });
});

// Interface addresses: ifaddrmsg (linux/if_addr.h) and the IFA_* attributes, as the Handle sends
// them and as an RTM_GETADDR dump reports them.

import { expect } from "chai";

import { IFA_F_NODAD, IFA_F_NOPREFIXROUTE } from "../../../native/netlink/constants";
import { decodeAddress } from "../../../native/netlink/address";
import { NetlinkDecodeError } from "../../../native/netlink/wire";
import { concat, DONE, dump, frame, hex, NLM_F_MULTI } from "./support/bytes";
import { fakeHandle } from "./support/fake-kernel";

// RTM_NEWADDR messages as inet_fill_ifaddr / inet6_fill_ifaddr write them (payloads only).
const V4 = hex`
  02 18 80 00 03000000                      # ifaddrmsg: AF_INET, /24, IFA_F_PERMANENT, scope universe, index 3
  0800 0100 0a160001                        # IFA_ADDRESS 10.22.0.1
  0800 0200 0a160001                        # IFA_LOCAL 10.22.0.1
  0800 0400 0a1600ff                        # IFA_BROADCAST 10.22.0.255
  0900 0300 65746830 00 000000              # IFA_LABEL "eth0"
  0800 0800 80000000                        # IFA_FLAGS IFA_F_PERMANENT
  1400 0600 ffffffff ffffffff 10000000 10000000  # IFA_CACHEINFO
`;
const V6 = hex`
  0a 40 80 fd 03000000                      # AF_INET6, /64, permanent, scope link, index 3
  1400 0100 fe800000 00000000 08580aff fef40105  # IFA_ADDRESS fe80::858:aff:fef4:105
  1400 0600 ffffffff ffffffff 10000000 10000000  # IFA_CACHEINFO
  0800 0800 80020000                        # IFA_FLAGS PERMANENT|NOPREFIXROUTE (beyond the 8-bit field)
`;
const MCTP = hex`
  2d 00 00 00 03000000                      # AF_MCTP (45): dumps of every family carry these too
  0500 0100 08 000000                       # IFA_ADDRESS: an MCTP endpoint id
`;

const RTM_NEWADDR = 20;
const message = (payload: Uint8Array): Uint8Array => frame(RTM_NEWADDR, NLM_F_MULTI, payload);

describe("addresses", () => {
  describe("requests", () => {
    it("addrAdd of an IPv4 address derives the broadcast address as `brd +` does", () => {
      const { handle, kernel } = fakeHandle();
      handle.addrAdd(3, { cidr: "10.22.0.1/24" });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          30000000 1400 0506 00000000 00000000  # len 48, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
          02 18 00 00 03000000                  # ifaddrmsg: AF_INET, /24, no flags, scope universe, index 3
          0800 0200 0a160001                    # IFA_LOCAL 10.22.0.1
          0800 0100 0a160001                    # IFA_ADDRESS 10.22.0.1
          0800 0400 0a1600ff                    # IFA_BROADCAST 10.22.0.255
        `),
      ]);
    });

    it("addrReplace of an IPv6 address carries flags above 0xff in IFA_FLAGS", () => {
      const { handle, kernel } = fakeHandle();
      handle.addrReplace(3, { cidr: "fd00::1/64", flags: IFA_F_NODAD | IFA_F_NOPREFIXROUTE });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          48000000 1400 0505 00000000 00000000  # len 72, RTM_NEWADDR, REQUEST|ACK|REPLACE|CREATE
          0a 40 02 00 03000000                  # AF_INET6, /64, ifa_flags = low byte (IFA_F_NODAD)
          1400 0200 fd000000 00000000 00000000 00000001  # IFA_LOCAL fd00::1
          1400 0100 fd000000 00000000 00000000 00000001  # IFA_ADDRESS fd00::1
          0800 0800 02020000                    # IFA_FLAGS NODAD|NOPREFIXROUTE
        `),
      ]);
    });

    it("addrDel of a /31 sends no broadcast address (RFC 3021 has none)", () => {
      const { handle, kernel } = fakeHandle();
      handle.addrDel(3, { cidr: "10.22.0.1/31" });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          28000000 1500 0500 00000000 00000000  # len 40, RTM_DELADDR, REQUEST|ACK
          02 1f 00 00 03000000                  # AF_INET, /31
          0800 0200 0a160001 0800 0100 0a160001 # IFA_LOCAL, IFA_ADDRESS
        `),
      ]);
    });

    it("takes an explicit broadcast, a label and a scope; null leaves the broadcast out", () => {
      const { handle, kernel } = fakeHandle();
      handle.addrAdd(3, { cidr: "10.22.0.1/24", broadcast: "10.22.0.127", label: "eth0:1", scope: 253 });
      handle.addrAdd(3, { cidr: "10.22.0.1/24", broadcast: null });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          3c000000 1400 0506 00000000 00000000  # len 60
          02 18 00 fd 03000000                  # scope RT_SCOPE_LINK
          0800 0200 0a160001 0800 0100 0a160001 # IFA_LOCAL, IFA_ADDRESS
          0b00 0300 65746830 3a3100 00          # IFA_LABEL "eth0:1"
          0800 0400 0a16007f                    # IFA_BROADCAST 10.22.0.127
        `),
        dump(hex`
          28000000 1400 0506 00000000 00000000
          02 18 00 00 03000000
          0800 0200 0a160001 0800 0100 0a160001
        `),
      ]);
    });

    it("rejects an address without a prefix length before anything is sent", () => {
      const { handle, kernel } = fakeHandle();
      expect(() => handle.addrAdd(3, { cidr: "10.22.0.1" })).to.throw(RangeError);
      expect(() => handle.addrAdd(3, { cidr: "10.22.0.1/33" })).to.throw(RangeError);
      expect(kernel.sent).to.have.length(0);
    });
  });

  describe("decoding", () => {
    it("decodes an IPv4 address with label, broadcast and flags", () => {
      expect(decodeAddress(V4)).to.deep.equal({
        linkIndex: 3,
        family: 4,
        address: "10.22.0.1",
        prefixLength: 24,
        scope: 0,
        flags: 0x80,
        label: "eth0",
        broadcast: "10.22.0.255",
        peer: undefined,
      });
    });

    it("decodes an IPv6 address, taking flags from IFA_FLAGS", () => {
      expect(decodeAddress(V6)).to.deep.include({
        family: 6,
        address: "fe80::858:aff:fef4:105",
        prefixLength: 64,
        scope: 253,
        flags: 0x280,
        label: undefined,
      });
    });

    it("reports the peer of a point-to-point address", () => {
      const ptp = hex`02 20 00 00 05000000  0800 0200 0a000001  0800 0100 0a000002`;
      expect(decodeAddress(ptp)).to.include({ address: "10.0.0.1", peer: "10.0.0.2", prefixLength: 32 });
    });

    for (const [what, payload] of [
      ["a short ifaddrmsg", hex`02 18 00 00 0300`],
      ["a non-IP family", MCTP],
      ["an IFA_LOCAL of 5 bytes", hex`02 18 00 00 03000000  0900 0200 0a160001 01 000000`],
      [
        "an IPv4 message with a 16-byte address",
        hex`02 18 00 00 03000000  1400 0200 fd000000 00000000 00000000 00000001`,
      ],
      ["no IFA_LOCAL or IFA_ADDRESS", hex`02 18 00 00 03000000  0900 0300 65746830 00 000000`],
    ] as const) {
      it(`rejects ${what} with NetlinkDecodeError`, () => {
        expect(() => decodeAddress(payload)).to.throw(NetlinkDecodeError);
      });
    }
  });

  describe("addrList", () => {
    const datagram = (): Uint8Array => concat(message(V4), message(MCTP), message(V6), DONE);

    it("dumps with the family and link in the ifaddrmsg, skips non-IP families, and filters replies itself", () => {
      const { handle, kernel } = fakeHandle(
        () => [datagram()],
        () => [datagram()],
        () => [datagram()],
      );
      expect(handle.addrList().map((a) => a.address)).to.deep.equal(["10.22.0.1", "fe80::858:aff:fef4:105"]);
      expect(handle.addrList({ family: 6 }).map((a) => a.address)).to.deep.equal(["fe80::858:aff:fef4:105"]);
      expect(handle.addrList({ linkIndex: 4 })).to.deep.equal([]);
      expect(kernel.requests.map(dump)).to.deep.equal(
        [
          hex`18000000 1600 0103 00000000 00000000  00 00 00 00 00000000  # RTM_GETADDR, REQUEST|DUMP, AF_UNSPEC`,
          hex`18000000 1600 0103 00000000 00000000  0a 00 00 00 00000000  # AF_INET6`,
          hex`18000000 1600 0103 00000000 00000000  00 00 00 00 04000000  # link 4 (strict checking)`,
        ].map(dump),
      );
    });
  });
});

// Neighbours and FDB entries: ndmsg (linux/neighbour.h) and the NDA_* attributes, for the IP
// families and for AF_BRIDGE, as the Handle sends them and as RTM_GETNEIGH dumps report them.

import { expect } from "chai";

import { NTF_ROUTER, NUD_REACHABLE } from "../../../native/netlink/constants";
import { decodeFdbEntry, decodeNdMsg, decodeNeighbour, encodeNdMsg } from "../../../native/netlink/neighbour";
import { NetlinkDecodeError } from "../../../native/netlink/wire";
import { concat, DONE, dump, frame, hex, NLM_F_MULTI } from "./support/bytes";
import { fakeHandle } from "./support/fake-kernel";

const RTM_NEWNEIGH = 28;

// Payloads of RTM_NEWNEIGH as neigh_fill_info, vxlan_fdb_info and fdb_fill_info write them.
const REACHABLE_V4 = hex`
  02 00 0000 04000000 0200 00 01    # AF_INET, ifindex 4, NUD_REACHABLE, no flags, RTN_UNICAST
  0800 0100 0a000002                # NDA_DST 10.0.0.2
  0a00 0200 02000000 0002 0000      # NDA_LLADDR 02:00:00:00:00:02
  1400 0300 00000000 00000000 00000000 01000000  # NDA_CACHEINFO
  0800 0400 00000000                # NDA_PROBES
`;
const INCOMPLETE_V4 = hex`
  02 00 0000 05000000 0100 00 01    # AF_INET, ifindex 5, NUD_INCOMPLETE
  0800 0100 0a000009                # NDA_DST 10.0.0.9, no NDA_LLADDR yet
`;
const ROUTER_V6 = hex`
  0a 00 0000 04000000 8000 80 01    # AF_INET6, NUD_PERMANENT, NTF_ROUTER
  1400 0100 fd000000 00000000 00000000 00000001  # NDA_DST fd00::1
  0a00 0200 02000000 0001 0000      # NDA_LLADDR
`;
const VXLAN_FDB = hex`
  07 00 0000 04000000 8000 02 01    # AF_BRIDGE, ifindex 4, NUD_PERMANENT, NTF_SELF, RTN_UNICAST
  0a00 0200 00000000 0000 0000      # NDA_LLADDR 00:00:00:00:00:00 (flood list entry)
  0800 0100 c0a8010b                # NDA_DST 192.168.1.11 (the remote VTEP)
  0600 0600 12b6 0000               # NDA_PORT 4790, network byte order
  0800 0700 64000000                # NDA_VNI 100
  1400 0300 00000000 00000000 00000000 00000000  # NDA_CACHEINFO
`;
const BRIDGE_FDB = hex`
  07 00 0000 05000000 8000 00 00    # AF_BRIDGE, ifindex 5 (a bridge port), permanent, no NTF_SELF
  0a00 0200 0a580af4 0105 0000      # NDA_LLADDR 0a:58:0a:f4:01:05
  0800 0900 03000000                # NDA_MASTER 3
  0600 0500 0a00 0000               # NDA_VLAN 10
`;

describe("neighbours", () => {
  describe("ndmsg", () => {
    it("places family, ifindex, state, flags and type at their offsets", () => {
      const bytes = encodeNdMsg({ family: 7, index: 0x0a0b0c0d, state: 0x0180, flags: 0x06, type: 1 });
      expect(dump(bytes)).to.equal(dump(hex`07 00 0000 0d0c0b0a 8001 06 01`));
      expect(decodeNdMsg(bytes)).to.deep.equal({ family: 7, index: 0x0a0b0c0d, state: 0x180, flags: 6, type: 1 });
    });
  });

  describe("IP neighbour requests", () => {
    it("neighReplace: a permanent entry by default", () => {
      const { handle, kernel } = fakeHandle();
      handle.neighReplace(4, { ip: "10.244.1.0", mac: "5e:4a:13:2f:00:01" });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          30000000 1c00 0505 00000000 00000000   # len 48, RTM_NEWNEIGH, REQUEST|ACK|REPLACE|CREATE
          02 00 0000 04000000 8000 00 00         # AF_INET, ifindex 4, NUD_PERMANENT
          0800 0100 0af40100                     # NDA_DST 10.244.1.0
          0a00 0200 5e4a132f 0001 0000           # NDA_LLADDR
        `),
      ]);
    });

    it("neighReplace: IPv6 with an explicit state and flags", () => {
      const { handle, kernel } = fakeHandle();
      handle.neighReplace(4, { ip: "fd00::2", mac: "02:00:00:00:00:02", state: NUD_REACHABLE, flags: NTF_ROUTER });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          3c000000 1c00 0505 00000000 00000000   # len 60
          0a 00 0000 04000000 0200 80 00         # AF_INET6, NUD_REACHABLE, NTF_ROUTER
          1400 0100 fd000000 00000000 00000000 00000002  # NDA_DST fd00::2
          0a00 0200 02000000 0002 0000           # NDA_LLADDR
        `),
      ]);
    });

    it("neighDel names the entry by link and address", () => {
      const { handle, kernel } = fakeHandle();
      handle.neighDel(4, "10.244.1.0");
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          24000000 1d00 0500 00000000 00000000   # len 36, RTM_DELNEIGH, REQUEST|ACK
          02 00 0000 04000000 0000 00 00
          0800 0100 0af40100
        `),
      ]);
    });

    it("rejects an invalid address or MAC before anything is sent", () => {
      const { handle, kernel } = fakeHandle();
      expect(() => handle.neighReplace(4, { ip: "10.0.0.300", mac: "02:00:00:00:00:01" })).to.throw(RangeError);
      expect(() => handle.neighReplace(4, { ip: "10.0.0.3", mac: "02:00:00:00:01" })).to.throw(RangeError);
      expect(kernel.sent).to.have.length(0);
    });
  });

  describe("FDB requests", () => {
    it("fdbAppend: AF_BRIDGE, NTF_SELF, permanent, with the remote VTEP in NDA_DST (flannel's entry)", () => {
      const { handle, kernel } = fakeHandle();
      handle.fdbAppend(4, { mac: "5e:4a:13:2f:00:01", dst: "192.168.1.11" });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          30000000 1c00 050c 00000000 00000000   # len 48, RTM_NEWNEIGH, REQUEST|ACK|CREATE|APPEND
          07 00 0000 04000000 8000 02 00         # AF_BRIDGE, ifindex 4, NUD_PERMANENT, NTF_SELF
          0a00 0200 5e4a132f 0001 0000           # NDA_LLADDR
          0800 0100 c0a8010b                     # NDA_DST 192.168.1.11
        `),
      ]);
    });

    it("fdbReplace: IPv6 VTEP, VLAN, big-endian port and VNI, both databases", () => {
      const { handle, kernel } = fakeHandle();
      handle.fdbReplace(4, {
        mac: "00:00:00:00:00:00",
        dst: "fd00::11",
        vlan: 10,
        port: 4790,
        vni: 100,
        self: true,
        master: true,
      });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          54000000 1c00 0505 00000000 00000000   # len 84, RTM_NEWNEIGH, REQUEST|ACK|REPLACE|CREATE
          07 00 0000 04000000 8000 06 00         # NTF_SELF|NTF_MASTER
          0a00 0200 00000000 0000 0000           # NDA_LLADDR
          1400 0100 fd000000 00000000 00000000 00000011  # NDA_DST fd00::11
          0600 0500 0a00 0000                    # NDA_VLAN 10
          0600 0600 12b6 0000                    # NDA_PORT 4790
          0800 0700 64000000                     # NDA_VNI 100
        `),
      ]);
    });

    it("fdbDel: the master's database alone when only master is asked for", () => {
      const { handle, kernel } = fakeHandle();
      handle.fdbDel(5, { mac: "02:00:00:00:00:09", master: true });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          28000000 1d00 0500 00000000 00000000   # len 40, RTM_DELNEIGH, REQUEST|ACK
          07 00 0000 05000000 8000 04 00         # NTF_MASTER
          0a00 0200 02000000 0009 0000           # NDA_LLADDR
        `),
      ]);
    });
  });

  describe("decoding", () => {
    it("decodes IP neighbours, with and without a link-layer address", () => {
      expect(decodeNeighbour(REACHABLE_V4)).to.deep.equal({
        linkIndex: 4,
        family: 4,
        ip: "10.0.0.2",
        mac: "02:00:00:00:00:02",
        state: 2,
        flags: 0,
      });
      expect(decodeNeighbour(INCOMPLETE_V4)).to.include({ ip: "10.0.0.9", mac: undefined, state: 1 });
      expect(decodeNeighbour(ROUTER_V6)).to.include({ family: 6, ip: "fd00::1", state: 0x80, flags: 0x80 });
    });

    it("decodes a VXLAN FDB entry: remote VTEP, port and VNI", () => {
      expect(decodeFdbEntry(VXLAN_FDB)).to.deep.equal({
        linkIndex: 4,
        mac: "00:00:00:00:00:00",
        dst: "192.168.1.11",
        vni: 100,
        port: 4790,
        vlan: undefined,
        masterIndex: undefined,
        self: true,
        state: 0x80,
        flags: 0x02,
      });
    });

    it("decodes a bridge FDB entry: master and VLAN", () => {
      expect(decodeFdbEntry(BRIDGE_FDB)).to.include({
        linkIndex: 5,
        mac: "0a:58:0a:f4:01:05",
        masterIndex: 3,
        vlan: 10,
        self: false,
        dst: undefined,
      });
    });

    for (const [what, decode, payload] of [
      ["a short ndmsg", decodeNeighbour, hex`02 00 0000 04000000 8000`],
      [
        "a neighbour without NDA_DST",
        decodeNeighbour,
        hex`02 00 0000 04000000 8000 00 00 0a00 0200 02000000 0002 0000`,
      ],
      ["a neighbour of AF_BRIDGE", decodeNeighbour, VXLAN_FDB],
      ["an IPv4 neighbour with a 16-byte NDA_DST", decodeNeighbour, ROUTER_V6.map((b, i) => (i === 0 ? 2 : b))],
      ["an FDB entry without NDA_LLADDR", decodeFdbEntry, hex`07 00 0000 04000000 8000 02 00 0800 0100 c0a8010b`],
      ["an FDB entry of AF_INET", decodeFdbEntry, REACHABLE_V4],
      [
        "an FDB entry with a 5-byte NDA_DST",
        decodeFdbEntry,
        hex`07 00 0000 04000000 8000 02 00 0900 0100 c0a8010b 01000000`,
      ],
    ] as const) {
      it(`rejects ${what} with NetlinkDecodeError`, () => {
        expect(() => decode(payload)).to.throw(NetlinkDecodeError);
      });
    }
  });

  describe("listing", () => {
    // The stray AF_BRIDGE message checks that only IP families are decoded, whatever arrives.
    const neighbours = () => [
      concat(
        ...[REACHABLE_V4, VXLAN_FDB, INCOMPLETE_V4, ROUTER_V6].map((p) => frame(RTM_NEWNEIGH, NLM_F_MULTI, p)),
        DONE,
      ),
    ];
    const fdb = () => [
      concat(...[VXLAN_FDB, REACHABLE_V4, BRIDGE_FDB].map((p) => frame(RTM_NEWNEIGH, NLM_F_MULTI, p)), DONE),
    ];

    it("neighList dumps both IP families at once, skipping anything else", () => {
      const { handle, kernel } = fakeHandle(neighbours, neighbours);
      expect(handle.neighList().map((n) => n.ip)).to.deep.equal(["10.0.0.2", "10.0.0.9", "fd00::1"]);
      expect(handle.neighList({ family: 6 }).map((n) => n.ip)).to.deep.equal(["fd00::1"]);
      expect(kernel.requests.map(dump)).to.deep.equal(
        [
          hex`1c000000 1e00 0103 00000000 00000000  00 00 0000 00000000 0000 00 00  # RTM_GETNEIGH, REQUEST|DUMP, AF_UNSPEC`,
          hex`1c000000 1e00 0103 00000000 00000000  0a 00 0000 00000000 0000 00 00  # AF_INET6`,
        ].map(dump),
      );
    });

    it("neighList asks the kernel to filter by link with NDA_IFINDEX, and filters again", () => {
      const { handle, kernel } = fakeHandle(neighbours);
      expect(handle.neighList({ linkIndex: 5, family: 4 }).map((n) => n.ip)).to.deep.equal(["10.0.0.9"]);
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          24000000 1e00 0103 00000000 00000000   # len 36
          02 00 0000 00000000 0000 00 00
          0800 0800 05000000                     # NDA_IFINDEX 5
        `),
      ]);
    });

    it("fdbList dumps AF_BRIDGE with a bare ndmsg and filters by link", () => {
      const { handle, kernel } = fakeHandle(fdb, fdb);
      expect(handle.fdbList().map((e) => e.mac)).to.deep.equal(["00:00:00:00:00:00", "0a:58:0a:f4:01:05"]);
      expect(handle.fdbList({ linkIndex: 5 }).map((e) => e.linkIndex)).to.deep.equal([5]);
      expect(dump(kernel.requests[0] ?? new Uint8Array())).to.equal(
        dump(hex`1c000000 1e00 0103 00000000 00000000  07 00 0000 00000000 0000 00 00  # AF_BRIDGE`),
      );
    });
  });
});

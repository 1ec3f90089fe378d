// Links: ifinfomsg (linux/rtnetlink.h), IFLA_* attributes (linux/if_link.h), the link kinds the
// suite creates, and the Handle's link verbs as the kernel receives them.

import { expect } from "chai";

import {
  decodeIfInfo,
  decodeLink,
  encodeIfInfo,
  linkSpecAttributes,
  macToBytes,
  bytesToMac,
} from "../../../native/netlink/link";
import { LinkNotFoundError, NetlinkError } from "../../../native/netlink/errors";
import { encodeMessage, NetlinkDecodeError } from "../../../native/netlink/wire";
import { dump, hex } from "./support/bytes";
import { fakeHandle, type Responder } from "./support/fake-kernel";

/** The kernel's answer to a failed request: NLMSG_ERROR with -errno and the capped request header. */
const fail =
  (errnoHex: string): Responder =>
  (request) => [
    new Uint8Array([...hex`24000000 0200 0001 00000000 00000000`, ...hexOf(errnoHex), ...request.subarray(0, 16)]),
  ];

const hexOf = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

/** Replies to a GET with one RTM_NEWLINK, then the ACK that NLM_F_ACK asks for. */
const reply =
  (message: Uint8Array): Responder =>
  (request) => [
    message,
    new Uint8Array([...hex`24000000 0200 0001 00000000 00000000 00000000`, ...request.subarray(0, 16)]),
  ];

describe("links", () => {
  describe("ifinfomsg", () => {
    it("encodes family, type, index, flags and change at their offsets", () => {
      const bytes = encodeIfInfo({ family: 7, type: 1, index: 0x01020304, flags: 0x1003, change: 1 });
      expect(dump(bytes)).to.equal(
        dump(hex`
          07 00 0100     # ifi_family AF_BRIDGE, pad, ifi_type ARPHRD_ETHER
          04030201       # ifi_index
          03100000       # ifi_flags IFF_UP|IFF_BROADCAST|IFF_MULTICAST
          01000000       # ifi_change IFF_UP
        `),
      );
      expect(decodeIfInfo(bytes)).to.deep.equal({ family: 7, type: 1, index: 0x01020304, flags: 0x1003, change: 1 });
    });

    it("rejects a payload shorter than ifinfomsg", () => {
      expect(() => decodeIfInfo(new Uint8Array(15))).to.throw(NetlinkDecodeError);
    });
  });

  describe("MAC addresses", () => {
    it("converts between text and the six bytes of IFLA_ADDRESS", () => {
      expect(Array.from(macToBytes("0A:58:0a:f4:01:FF"))).to.deep.equal([0x0a, 0x58, 0x0a, 0xf4, 0x01, 0xff]);
      expect(bytesToMac(Uint8Array.of(2, 0, 0, 0, 0xab, 1))).to.equal("02:00:00:00:ab:01");
    });

    for (const bad of ["", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-00", "0g:00:00:00:00:00"]) {
      it(`rejects ${JSON.stringify(bad)}`, () => {
        expect(() => macToBytes(bad)).to.throw(RangeError);
      });
    }
  });

  describe("creating links", () => {
    it("bridge: IFLA_INFO_KIND and IFLA_BR_VLAN_FILTERING, brought up through ifi_flags", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkAdd({ kind: "bridge", name: "cni0", vlanFiltering: true, up: true });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          48000000 1000 0506 00000000 00000000   # len 72, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
          00 00 0000 00000000 01000000 01000000  # ifinfomsg: flags IFF_UP, change IFF_UP
          0900 0300 636e6930 00 000000           # IFLA_IFNAME "cni0"
          1c00 1280                              # IFLA_LINKINFO len 28, nested
            0b00 0100 62726964 676500 00         #   IFLA_INFO_KIND "bridge" NUL, 1 byte of padding
            0c00 0280                            #   IFLA_INFO_DATA len 12, nested
              0500 0700 01 000000                #     IFLA_BR_VLAN_FILTERING 1
        `),
      ]);
    });

    it("bridge without VLAN filtering: no IFLA_INFO_DATA, which kernels without the feature refuse", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkAdd({ kind: "bridge", name: "cni0", vlanFiltering: false });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          3c000000 1000 0506 00000000 00000000   # len 60
          00 00 0000 00000000 00000000 00000000
          0900 0300 636e6930 00 000000           # IFLA_IFNAME "cni0"
          1000 1280                              # IFLA_LINKINFO len 16 (covers the kind's padding)
            0b00 0100 62726964 676500 00         #   IFLA_INFO_KIND "bridge"
        `),
      ]);
    });

    it("veth: the peer is a whole ifinfomsg plus attributes inside VETH_INFO_PEER, in its own netns", () => {
      const spec = {
        kind: "veth",
        name: "veth0",
        mtu: 1450,
        peer: { name: "eth0", netnsPath: "/run/netns/pod" },
      } as const;
      const opened: string[] = [];
      const attributes = linkSpecAttributes(spec, (path) => {
        opened.push(path);
        return 7;
      });
      const message = encodeMessage({ type: 16, flags: 0x605, seq: 0, pid: 0 }, encodeIfInfo({}), attributes);
      expect(opened).to.deep.equal(["/run/netns/pod"]);
      expect(dump(message)).to.equal(
        dump(hex`
          70000000 1000 0506 00000000 00000000   # len 112, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
          00 00 0000 00000000 00000000 00000000  # ifinfomsg
          0a00 0300 76657468 3000 0000           # IFLA_IFNAME len 10 "veth0" NUL
          0800 0400 aa050000                     # IFLA_MTU 1450
          3c00 1280                              # IFLA_LINKINFO len 60, nested
            0900 0100 76657468 00 000000         #   IFLA_INFO_KIND "veth"
            2c00 0280                            #   IFLA_INFO_DATA len 44, nested
              2800 0100                          #     VETH_INFO_PEER len 40 (a struct first: not flagged nested)
                00 00 0000 00000000 00000000 00000000  # peer's ifinfomsg
                0900 0300 65746830 00 000000     #     IFLA_IFNAME "eth0"
                0800 1c00 07000000               #     IFLA_NET_NS_FD 7
        `),
      );
    });

    it("vxlan: VNI, local VTEP, underlay, big-endian port, learning off, GBP flag (flannel's device)", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkAdd({
        kind: "vxlan",
        name: "flannel.1",
        vni: 1,
        local: "192.168.1.10",
        underlayIndex: 2,
        port: 8472,
        learning: false,
        gbp: true,
      });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          70000000 1000 0506 00000000 00000000   # len 112, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
          00 00 0000 00000000 00000000 00000000  # ifinfomsg
          0e00 0300 666c616e 6e656c2e 3100 0000  # IFLA_IFNAME len 14 "flannel.1" NUL
          4000 1280                              # IFLA_LINKINFO len 64, nested
            0a00 0100 76786c61 6e00 0000         #   IFLA_INFO_KIND "vxlan"
            3000 0280                            #   IFLA_INFO_DATA len 48, nested
              0800 0100 01000000                 #     IFLA_VXLAN_ID 1
              0800 0400 c0a8010a                 #     IFLA_VXLAN_LOCAL 192.168.1.10
              0800 0300 02000000                 #     IFLA_VXLAN_LINK 2
              0600 0f00 2118 0000                #     IFLA_VXLAN_PORT 8472, network byte order
              0500 0700 00 000000                #     IFLA_VXLAN_LEARNING 0
              0400 1700                          #     IFLA_VXLAN_GBP
        `),
      ]);
    });

    it("vxlan over IPv6: IFLA_VXLAN_LOCAL6 and IFLA_VXLAN_GROUP6", () => {
      const attributes = linkSpecAttributes(
        { kind: "vxlan", name: "vx6", vni: 0x123456, local: "fd00::1", group: "ff05::100", ttl: 64 },
        () => -1,
      );
      const bytes = encodeMessage({ type: 16, flags: 0, seq: 0, pid: 0 }, new Uint8Array(0), attributes);
      expect(dump(bytes.subarray(16))).to.equal(
        dump(hex`
          0800 0300 76783600                     # IFLA_IFNAME "vx6" NUL
          4c00 1280                              # IFLA_LINKINFO len 76
            0a00 0100 76786c61 6e00 0000         #   IFLA_INFO_KIND "vxlan"
            3c00 0280                            #   IFLA_INFO_DATA len 60
              0800 0100 56341200                 #     IFLA_VXLAN_ID 0x123456
              1400 1100 fd000000 00000000 00000000 00000001  # IFLA_VXLAN_LOCAL6 fd00::1
              1400 1000 ff050000 00000000 00000000 00000100  # IFLA_VXLAN_GROUP6 ff05::100
              0500 0500 40 000000                #     IFLA_VXLAN_TTL 64
        `),
      );
    });

    it("dummy: only a kind", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkAdd({ kind: "dummy", name: "d0" });
      expect(dump(kernel.requests[0]?.subarray(32) ?? new Uint8Array())).to.equal(
        dump(hex`
          0700 0300 64300000                     # IFLA_IFNAME "d0" NUL
          1000 1280 0a00 0100 64756d6d 79000000  # IFLA_LINKINFO { IFLA_INFO_KIND "dummy" }
        `),
      );
    });
  });

  describe("changing links", () => {
    it("set up/down changes only IFF_UP; other setters send one attribute and leave the flags", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkSetUp(5);
      handle.linkSetDown(5);
      handle.linkSetMtu(5, 9000);
      handle.linkSetMaster(5, 3);
      handle.linkSetMaster(5, null);
      handle.linkSetName(5, "eth1");
      handle.linkSetMac(5, "02:42:ac:11:00:02");
      handle.linkDel(5);
      expect(kernel.requests.map(dump)).to.deep.equal(
        [
          hex`20000000 1000 0500 00000000 00000000  00 00 0000 05000000 01000000 01000000  # NEWLINK #5 up`,
          hex`20000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 01000000  # NEWLINK #5 down`,
          hex`28000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  0800 0400 28230000  # IFLA_MTU 9000`,
          hex`28000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  0800 0a00 03000000  # IFLA_MASTER 3`,
          hex`28000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  0800 0a00 00000000  # nomaster: IFLA_MASTER 0`,
          hex`2c000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  0900 0300 65746831 00000000  # IFLA_IFNAME`,
          hex`2c000000 1000 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  0a00 0100 0242ac110002 0000  # IFLA_ADDRESS`,
          hex`20000000 1100 0500 00000000 00000000  00 00 0000 05000000 00000000 00000000  # RTM_DELLINK #5`,
        ].map(dump),
      );
    });

    it("bridge port flags travel as RTM_SETLINK of AF_BRIDGE with a nested IFLA_PROTINFO", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkSetBridgePort(6, { hairpin: true, isolated: false, learning: false });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          3c000000 1300 0500 00000000 00000000   # len 60, RTM_SETLINK, REQUEST|ACK
          07 00 0000 06000000 00000000 00000000  # ifinfomsg: AF_BRIDGE, index 6
          1c00 0c80                              # IFLA_PROTINFO len 28, nested (the kernel requires the flag here)
            0500 0400 01 000000                  #   IFLA_BRPORT_MODE (hairpin) 1
            0500 2100 00 000000                  #   IFLA_BRPORT_ISOLATED 0
            0500 0800 00 000000                  #   IFLA_BRPORT_LEARNING 0
        `),
      ]);
    });
  });

  describe("changing several things at once (linkSet)", () => {
    it("flags in ifi_flags/ifi_change, MTU and MAC as attributes, bridge options under IFLA_LINKINFO", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkSet(4, {
        up: true,
        promisc: false,
        mtu: 1450,
        mac: "0a:58:0a:f4:00:01",
        bridge: { vlanFiltering: true },
      });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          50000000 1000 0500 00000000 00000000   # len 80, RTM_NEWLINK, REQUEST|ACK (no CREATE: the link exists)
          00 00 0000 04000000 01000000 01010000  # index 4, flags IFF_UP, change IFF_UP|IFF_PROMISC
          0800 0400 aa050000                     # IFLA_MTU 1450
          0a00 0100 0a580af4 0001 0000           # IFLA_ADDRESS 0a:58:0a:f4:00:01
          1c00 1280                              # IFLA_LINKINFO len 28, nested
            0b00 0100 62726964 676500 00         #   IFLA_INFO_KIND "bridge"
            0c00 0280                            #   IFLA_INFO_DATA len 12, nested
              0500 0700 01 000000                #     IFLA_BR_VLAN_FILTERING 1
        `),
      ]);
    });

    it("promiscuous on, nothing else: only the flag and its mask", () => {
      const { handle, kernel } = fakeHandle();
      handle.linkSet(4, { promisc: true });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(
          hex`20000000 1000 0500 00000000 00000000  00 00 0000 04000000 00010000 00010000  # flags/change IFF_PROMISC`,
        ),
      ]);
    });
  });

  describe("bridge port VLANs", () => {
    it("bridgeVlanAdd: RTM_SETLINK of AF_BRIDGE, one bridge_vlan_info per VLAN, a range as BEGIN and END", () => {
      const { handle, kernel } = fakeHandle();
      handle.bridgeVlanAdd(6, [
        { vid: 100, pvid: true, untagged: true },
        { vid: 200, vidEnd: 299 },
        { vid: 7, vidEnd: 7 },
      ]);
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          44000000 1300 0500 00000000 00000000   # len 68, RTM_SETLINK, REQUEST|ACK
          07 00 0000 06000000 00000000 00000000  # ifinfomsg: AF_BRIDGE, index 6
          2400 1a80                              # IFLA_AF_SPEC len 36, nested
            0800 0200 0600 6400                  #   IFLA_BRIDGE_VLAN_INFO flags PVID|UNTAGGED, vid 100
            0800 0200 0800 c800                  #   IFLA_BRIDGE_VLAN_INFO flags RANGE_BEGIN, vid 200
            0800 0200 1000 2b01                  #   IFLA_BRIDGE_VLAN_INFO flags RANGE_END, vid 299
            0800 0200 0000 0700                  #   IFLA_BRIDGE_VLAN_INFO vid 7 (a range of one is one VLAN)
        `),
      ]);
    });

    it("bridgeVlanDel: the same layout in an RTM_DELLINK of AF_BRIDGE", () => {
      const { handle, kernel } = fakeHandle();
      handle.bridgeVlanDel(6, [{ vid: 1 }]);
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          2c000000 1100 0500 00000000 00000000   # len 44, RTM_DELLINK, REQUEST|ACK
          07 00 0000 06000000 00000000 00000000  # AF_BRIDGE, index 6
          0c00 1a80 0800 0200 0000 0100          # IFLA_AF_SPEC { IFLA_BRIDGE_VLAN_INFO vid 1 }
        `),
      ]);
    });

    it("refuses ids outside 1-4094, reversed ranges and a range as PVID before sending anything", () => {
      const { handle, kernel } = fakeHandle();
      expect(() => handle.bridgeVlanAdd(6, [{ vid: 0 }])).to.throw(RangeError, /between 1 and 4094/);
      expect(() => handle.bridgeVlanAdd(6, [{ vid: 4095 }])).to.throw(RangeError);
      expect(() => handle.bridgeVlanAdd(6, [{ vid: 10, vidEnd: 5 }])).to.throw(RangeError, /ends before/);
      expect(() => handle.bridgeVlanAdd(6, [{ vid: 10, vidEnd: 20, pvid: true }])).to.throw(RangeError, /PVID/);
      expect(kernel.requests).to.deep.equal([]);
    });
  });

  describe("looking links up", () => {
    // An RTM_NEWLINK as a dump reports a pod's veth end: index 3, attached to bridge 5 in its
    // namespace, its peer (index 7) in the namespace with id 0.
    const vethMessage = hex`
      c4000000 1000 0000 00000000 00000000   # len 196, RTM_NEWLINK
      00 00 0100 03000000 43100100 00000000  # ifinfomsg: ARPHRD_ETHER, index 3, UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
      0900 0300 65746830 00000000            # IFLA_IFNAME "eth0"
      0800 0d00 e8030000                     # IFLA_TXQLEN 1000
      0500 1000 06 000000                    # IFLA_OPERSTATE IF_OPER_UP
      0800 0400 aa050000                     # IFLA_MTU 1450
      0800 0500 07000000                     # IFLA_LINK 7
      0800 0a00 05000000                     # IFLA_MASTER 5
      0800 2500 00000000                     # IFLA_LINK_NETNSID 0
      0a00 0100 0a580af4 0105 0000           # IFLA_ADDRESS 0a:58:0a:f4:01:05
      0a00 0200 ffffffff ffff 0000           # IFLA_BROADCAST
      0900 1400 706f6400 00000000            # IFLA_IFALIAS "pod" (NUL-padded)
      2800 1200                              # IFLA_LINKINFO len 40 (dumps do not flag nests)
        0900 0100 76657468 00000000          #   IFLA_INFO_KIND "veth"
        0b00 0400 62726964 676500 00         #   IFLA_INFO_SLAVE_KIND "bridge"
        0c00 0500 0800 0100 00000000         #   IFLA_INFO_SLAVE_DATA { ... }
      1c00 1a00 00000000 00000000 00000000 00000000 00000000 00000000  # IFLA_AF_SPEC (ignored)
    `;

    it("decodes a veth port of a bridge", () => {
      const { handle } = fakeHandle(reply(vethMessage));
      expect(handle.linkByName("eth0")).to.deep.equal({
        kind: "veth",
        index: 3,
        name: "eth0",
        flags: 0x11043,
        up: true,
        operState: "up",
        mtu: 1450,
        mac: "0a:58:0a:f4:01:05",
        masterIndex: 5,
        parentIndex: 7,
        linkNetnsId: 0,
        txQueueLength: 1000,
        alias: "pod",
        portKind: "bridge",
      });
    });

    it("asks by name with IFLA_IFNAME and by index in ifinfomsg, skipping statistics", () => {
      const { handle, kernel } = fakeHandle(reply(vethMessage), reply(vethMessage));
      handle.linkByName("eth0");
      handle.linkByIndex(3);
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          34000000 1200 0500 00000000 00000000   # RTM_GETLINK, REQUEST|ACK
          00 00 0000 00000000 00000000 00000000
          0900 0300 65746830 00 000000           # IFLA_IFNAME "eth0"
          0800 1d00 08000000                     # IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
        `),
        dump(hex`
          28000000 1200 0500 00000000 00000000
          00 00 0000 03000000 00000000 00000000  # index 3
          0800 1d00 08000000
        `),
      ]);
    });

    it("decodes a bridge's VLAN filtering and default PVID", () => {
      const message = hex`
        50000000 1000 0000 00000000 00000000   # len 80, RTM_NEWLINK
        00 00 0100 05000000 03110000 00000000  # index 5, UP|BROADCAST|PROMISC|MULTICAST
        0900 0300 636e6930 00000000            # IFLA_IFNAME "cni0"
        2400 1200                              # IFLA_LINKINFO len 36
          0b00 0100 62726964 676500 00         #   IFLA_INFO_KIND "bridge"
          1400 0200                            #   IFLA_INFO_DATA len 20
            0500 0700 01 000000                #     IFLA_BR_VLAN_FILTERING 1
            0600 2700 0100 0000                #     IFLA_BR_VLAN_DEFAULT_PVID 1
      `;
      const { handle } = fakeHandle(reply(message));
      const link = handle.linkByIndex(5);
      expect(link).to.include({ kind: "bridge", name: "cni0", up: true, vlanFiltering: true, vlanDefaultPvid: 1 });
      expect(link.flags & 0x100).to.equal(0x100);
    });

    it("decodes a vxlan device's IFLA_INFO_DATA", () => {
      const message = hex`
        64000000 1000 0000 00000000 00000000   # len 100, RTM_NEWLINK
        00 00 0100 04000000 02100000 00000000  # index 4, BROADCAST|MULTICAST (down)
        0e00 0300 666c616e 6e656c2e 3100 0000  # IFLA_IFNAME "flannel.1"
        0500 1000 02 000000                    # IFLA_OPERSTATE IF_OPER_DOWN
        2c00 1200                              # IFLA_LINKINFO
          0a00 0100 76786c61 6e00 0000         #   IFLA_INFO_KIND "vxlan"
          1c00 0200                            #   IFLA_INFO_DATA
            0800 0100 01000000                 #     IFLA_VXLAN_ID 1
            0800 0400 c0a8010a                 #     IFLA_VXLAN_LOCAL
            0600 0f00 2118 0000                #     IFLA_VXLAN_PORT 8472
      `;
      const { handle } = fakeHandle(reply(message));
      const link = handle.linkByIndex(4);
      expect(link).to.include({ kind: "vxlan", name: "flannel.1", up: false, operState: "down", mtu: 0 });
      expect(link).to.include({
        vni: 1,
        local: "192.168.1.10",
        group: undefined,
        port: 8472,
        learning: false,
        gbp: false,
      });
      expect(link.mac).to.equal(undefined);
    });

    it("reports links without IFLA_LINKINFO as devices and unknown kinds as other", () => {
      const lo = hex`
        28000000 1000 0000 00000000 00000000
        00 00 0403 01000000 49000100 00000000  # ARPHRD_LOOPBACK, index 1, UP|LOOPBACK|RUNNING|LOWER_UP
        0700 0300 6c6f0000                     # IFLA_IFNAME "lo"
      `;
      const dummy = hex`
        38000000 1000 0000 00000000 00000000
        00 00 0100 09000000 00000000 00000000
        0700 0300 64300000                     # IFLA_IFNAME "d0"
        1000 1200 0a00 0100 64756d6d 79000000  # IFLA_LINKINFO { IFLA_INFO_KIND "dummy" }
      `;
      expect(decodeLink(lo.subarray(16))).to.include({ kind: "device", name: "lo", index: 1, up: true });
      expect(decodeLink(dummy.subarray(16))).to.include({ kind: "other", infoKind: "dummy", name: "d0" });
    });

    it("turns ENODEV into LinkNotFoundError, keeping the kernel's error as the cause", () => {
      const { handle } = fakeHandle(fail("edffffff"), fail("edffffff"), fail("edffffff"));
      const error = (() => {
        try {
          handle.linkByName("nope");
        } catch (e: unknown) {
          return e;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(LinkNotFoundError);
      expect((error as LinkNotFoundError).link).to.equal("nope");
      expect((error as LinkNotFoundError).message).to.equal('link "nope" not found');
      expect((error as LinkNotFoundError).cause)
        .to.be.instanceOf(NetlinkError)
        .with.property("code", "ENODEV");
      expect(() => handle.linkByIndex(99)).to.throw(LinkNotFoundError, "link #99 not found");
      expect(handle.findLink("nope")).to.equal(undefined);
    });

    it("lets other kernel errors through", () => {
      const { handle } = fakeHandle(fail("f3ffffff")); // -13 EACCES
      expect(() => handle.linkByName("eth0"))
        .to.throw(NetlinkError)
        .with.property("code", "EACCES");
    });
  });
});

// Routes: rtmsg (linux/rtnetlink.h), RTA_* attributes, RTA_METRICS (RTAX_*) and RTA_MULTIPATH
// (struct rtnexthop), as the Handle sends them and as an RTM_GETROUTE dump reports them.

import { expect } from "chai";

import { RT_TABLE_UNSPEC, RTPROT_STATIC } from "../../../native/netlink/constants";
import { decodeRoute, decodeRtMsg, encodeRtMsg, type RouteFilter, routeRequest } from "../../../native/netlink/route";
import { NetlinkDecodeError } from "../../../native/netlink/wire";
import { concat, DONE, dump, frame, hex, NLM_F_MULTI } from "./support/bytes";
import { fakeHandle } from "./support/fake-kernel";

const RTM_NEWROUTE = 24;

// Payloads of RTM_NEWROUTE as fib_dump_info / rt6_fill_node write them.
const WITH_METRICS = hex`
  02 10 00 00 fc 04 00 01 00000000  # AF_INET, /16, table RT_TABLE_COMPAT (id > 255), static, universe, unicast
  0800 0f00 e8030000                # RTA_TABLE 1000
  0800 0100 0a020000                # RTA_DST 10.2.0.0
  0800 0600 64000000                # RTA_PRIORITY 100
  1400 0800                         # RTA_METRICS len 20 (dumps do not flag nests)
    0800 0200 78050000              #   RTAX_MTU 1400
    0800 0800 50050000              #   RTAX_ADVMSS 1360
  0800 0500 0a000005                # RTA_GATEWAY 10.0.0.5
  0800 0400 02000000                # RTA_OIF 2
`;
const DEFAULT_V4 = hex`
  02 00 00 00 fe 03 00 01 00000000  # AF_INET, /0, main, boot, universe, unicast
  0800 0f00 fe000000                # RTA_TABLE 254
  0800 0500 0a0000fe                # RTA_GATEWAY 10.0.0.254
  0800 0400 02000000                # RTA_OIF 2
`;
const ONLINK = hex`
  02 18 00 00 fe 03 00 01 04000000  # /24, rtm_flags RTNH_F_ONLINK
  0800 0f00 fe000000  0800 0100 0af40100  0800 0500 0af40100  0800 0400 04000000  # table, dst, gateway, oif 4
`;
const V6 = hex`
  0a 40 00 00 fe 03 00 01 00000000  # AF_INET6, /64
  0800 0f00 fe000000                # RTA_TABLE 254
  1400 0100 fd000000 00000000 00000000 00000000  # RTA_DST fd00::
  0800 0600 00040000                # RTA_PRIORITY 1024
  0800 0400 02000000                # RTA_OIF 2
  2400 0c00 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  # RTA_CACHEINFO
  0500 1400 00 000000               # RTA_PREF medium
`;
const MULTIPATH = hex`
  02 10 00 00 fe 03 00 01 00000000  # AF_INET, /16
  0800 0f00 fe000000                # RTA_TABLE 254
  0800 0100 0a070000                # RTA_DST 10.7.0.0
  2400 0900                         # RTA_MULTIPATH len 36
    1000 10 01 02000000             #   rtnexthop: len 16, RTNH_F_LINKDOWN, hops 1 (weight 2), ifindex 2
    0800 0500 0a000005              #     RTA_GATEWAY 10.0.0.5
    1000 00 00 03000000             #   rtnexthop: len 16, no flags, weight 1, ifindex 3
    0800 0500 0a000105              #     RTA_GATEWAY 10.0.1.5
`;
const LOCAL = hex`
  02 20 00 00 ff 02 fe 02 00000000  # /32, table local, kernel, scope host, RTN_LOCAL
  0800 0f00 ff000000  0800 0100 0a000001  0800 0700 0a000001  0800 0400 02000000  # table, dst, prefsrc, oif
`;
const IPMR = hex`
  80 20 20 00 fe 00 00 05 00000000  # RTNL_FAMILY_IPMR (128): a multicast route, not ours to decode
  0800 0f00 fe000000
`;

describe("routes", () => {
  describe("rtmsg", () => {
    it("places every field at its offset", () => {
      const bytes = encodeRtMsg({
        family: 10,
        dstLength: 64,
        srcLength: 1,
        tos: 2,
        table: 254,
        protocol: 4,
        scope: 253,
        type: 7,
        flags: 0x104,
      });
      expect(dump(bytes)).to.equal(dump(hex`0a 40 01 02 fe 04 fd 07 04010000`));
      expect(decodeRtMsg(bytes)).to.deep.equal({
        family: 10,
        dstLength: 64,
        srcLength: 1,
        tos: 2,
        table: 254,
        protocol: 4,
        scope: 253,
        type: 7,
        flags: 0x104,
      });
    });
  });

  describe("requests", () => {
    it("routeAdd: gateway, link, metric, a table above 255 in RTA_TABLE, mtu and advmss in RTA_METRICS", () => {
      const { handle, kernel } = fakeHandle();
      handle.routeAdd({
        dst: "10.2.0.0/16",
        gateway: "10.0.0.5",
        linkIndex: 2,
        priority: 100,
        table: 1000,
        protocol: RTPROT_STATIC,
        mtu: 1400,
        advmss: 1360,
      });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          58000000 1800 0506 00000000 00000000   # len 88, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
          02 10 00 00 00 04 00 01 00000000       # AF_INET, /16, RT_TABLE_UNSPEC, static, universe, unicast
          0800 0100 0a020000                     # RTA_DST 10.2.0.0
          0800 0500 0a000005                     # RTA_GATEWAY 10.0.0.5
          0800 0400 02000000                     # RTA_OIF 2
          0800 0600 64000000                     # RTA_PRIORITY 100
          0800 0f00 e8030000                     # RTA_TABLE 1000
          1400 0880                              # RTA_METRICS len 20, nested
            0800 0200 78050000                   #   RTAX_MTU 1400
            0800 0800 50050000                   #   RTAX_ADVMSS 1360
        `),
      ]);
    });

    it("routeReplace of an IPv6 default route: no RTA_DST, table main in rtm_table, protocol boot", () => {
      const { handle, kernel } = fakeHandle();
      handle.routeReplace({ dst: "::/0", gateway: "fd00::1", linkIndex: 2 });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          38000000 1800 0505 00000000 00000000   # len 56, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE
          0a 00 00 00 fe 03 00 01 00000000       # AF_INET6, /0, main, boot, universe, unicast
          1400 0500 fd000000 00000000 00000000 00000001  # RTA_GATEWAY fd00::1
          0800 0400 02000000                     # RTA_OIF 2
        `),
      ]);
    });

    it("routeAddEcmp: NLM_F_CREATE without EXCL, so a second next hop joins the destination", () => {
      const { handle, kernel } = fakeHandle();
      handle.routeAddEcmp({ dst: "::/0", gateway: "fd00::1", linkIndex: 2 });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          38000000 1800 0504 00000000 00000000   # len 56, RTM_NEWROUTE, REQUEST|ACK|CREATE
          0a 00 00 00 fe 03 00 01 00000000       # AF_INET6, /0, main, boot, universe, unicast
          1400 0500 fd000000 00000000 00000000 00000001  # RTA_GATEWAY fd00::1
          0800 0400 02000000                     # RTA_OIF 2
        `),
      ]);
    });

    it("onlink sets RTNH_F_ONLINK in rtm_flags (flannel's route to a remote subnet)", () => {
      const { handle, kernel } = fakeHandle();
      handle.routeReplace({ dst: "10.244.1.0/24", gateway: "10.244.1.0", linkIndex: 4, onlink: true });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          34000000 1800 0505 00000000 00000000
          02 18 00 00 fe 03 00 01 04000000       # rtm_flags RTNH_F_ONLINK
          0800 0100 0af40100 0800 0500 0af40100 0800 0400 04000000  # dst, gateway, oif
        `),
      ]);
    });

    it("derives the scope as iproute2 does: link without a gateway, host for local routes", () => {
      const { body: device, attributes } = routeRequest(
        { dst: "10.5.0.0/16", linkIndex: 3, prefsrc: "10.0.0.1" },
        "change",
      );
      expect(dump(device)).to.equal(dump(hex`02 10 00 00 fe 03 fd 01 00000000  # scope RT_SCOPE_LINK`));
      expect(attributes.map((a) => a.type)).to.deep.equal([1, 7, 4]); // RTA_DST, RTA_PREFSRC, RTA_OIF
      const local = routeRequest({ dst: "10.9.0.1/32", type: "local", linkIndex: 1, table: 255 }, "change");
      expect(dump(local.body)).to.equal(dump(hex`02 20 00 00 ff 03 fe 02 00000000  # local table, host, RTN_LOCAL`));
      const blackhole = routeRequest({ dst: "10.8.0.0/16", type: "blackhole" }, "change");
      expect(dump(blackhole.body)).to.equal(dump(hex`02 10 00 00 fe 03 00 06 00000000  # universe, RTN_BLACKHOLE`));
      const explicit = routeRequest({ dst: "10.5.0.0/16", gateway: "10.0.0.1", scope: 200 }, "change");
      expect(explicit.body[6]).to.equal(200);
    });

    it("routeDel matches any protocol, scope and type unless they are given", () => {
      const { handle, kernel } = fakeHandle();
      handle.routeDel({ dst: "10.2.0.0/16", table: 1000 });
      handle.routeDel({ dst: "10.3.0.0/16", type: "unicast", scope: 253, protocol: 4 });
      expect(kernel.requests.map(dump)).to.deep.equal([
        dump(hex`
          2c000000 1900 0500 00000000 00000000   # len 44, RTM_DELROUTE, REQUEST|ACK
          02 10 00 00 00 00 ff 00 00000000       # table in RTA_TABLE, any protocol, RT_SCOPE_NOWHERE, any type
          0800 0100 0a020000 0800 0f00 e8030000  # RTA_DST, RTA_TABLE 1000
        `),
        dump(hex`
          24000000 1900 0500 00000000 00000000
          02 10 00 00 fe 04 fd 01 00000000
          0800 0100 0a030000
        `),
      ]);
    });

    it("rejects what it cannot encode before anything is sent", () => {
      const { handle, kernel } = fakeHandle();
      expect(() => handle.routeAdd({ dst: "10.2.0.0/16", gateway: "fd00::1" })).to.throw(RangeError, /family/);
      expect(() => handle.routeAdd({ dst: "10.2.0.0" })).to.throw(RangeError);
      expect(() => handle.routeAdd({ dst: "default" })).to.throw(RangeError);
      expect(() => handle.routeAdd({ dst: "10.2.0.0/16", scope: 256 })).to.throw(RangeError, /scope/);
      expect(() => handle.routeAdd({ dst: "10.2.0.0/16", protocol: -1 })).to.throw(RangeError, /protocol/);
      expect(() => handle.routeAdd({ dst: "10.2.0.0/16", table: 2 ** 32 })).to.throw(RangeError, /table/);
      expect(() => handle.routeAdd({ dst: "10.2.0.0/16", table: 1.5 })).to.throw(RangeError, /table/);
      expect(() => handle.routeAdd({ dst: "fd00::/64", prefsrc: "10.0.0.1" })).to.throw(RangeError, /prefsrc/);
      expect(kernel.sent).to.have.length(0);
    });
  });

  describe("decoding", () => {
    it("decodes a route with a gateway, a metric, a table above 255 and metrics", () => {
      expect(decodeRoute(WITH_METRICS)).to.deep.equal({
        family: 4,
        dst: "10.2.0.0/16",
        gateway: "10.0.0.5",
        linkIndex: 2,
        onlink: false,
        flags: 0,
        scope: 0,
        table: 1000,
        priority: 100,
        protocol: 4,
        type: "unicast",
        prefsrc: undefined,
        mtu: 1400,
        advmss: 1360,
        multipath: [],
      });
    });

    it("writes the default route as 0.0.0.0/0 and a host route as /32", () => {
      expect(decodeRoute(DEFAULT_V4)).to.include({ dst: "0.0.0.0/0", gateway: "10.0.0.254", priority: 0, table: 254 });
      expect(decodeRoute(LOCAL)).to.include({ dst: "10.0.0.1/32", type: "local", scope: 254, prefsrc: "10.0.0.1" });
    });

    it("reports onlink from rtm_flags", () => {
      expect(decodeRoute(ONLINK)).to.include({ onlink: true, flags: 4, gateway: "10.244.1.0", linkIndex: 4 });
    });

    it("decodes an IPv6 route, ignoring attributes it does not know", () => {
      expect(decodeRoute(V6)).to.include({ family: 6, dst: "fd00::/64", priority: 1024, linkIndex: 2 });
    });

    it("exposes the next hops of a multipath route", () => {
      const route = decodeRoute(MULTIPATH);
      expect(route).to.include({ dst: "10.7.0.0/16", gateway: undefined, linkIndex: undefined });
      expect(route.multipath).to.deep.equal([
        { linkIndex: 2, gateway: "10.0.0.5", flags: 0x10, weight: 2 },
        { linkIndex: 3, gateway: "10.0.1.5", flags: 0, weight: 1 },
      ]);
    });

    for (const [what, payload] of [
      ["a short rtmsg", hex`02 10 00 00 fe 03 00 01 0000`],
      ["a non-IP family", IPMR],
      [
        "an IPv4 route with a 16-byte gateway",
        hex`02 10 00 00 fe 03 00 01 00000000 1400 0500 fd000000 00000000 00000000 00000001`,
      ],
      ["an IPv6 route with a 4-byte destination", hex`0a 40 00 00 fe 03 00 01 00000000 0800 0100 0a000000`],
      ["a next hop shorter than struct rtnexthop", hex`02 10 00 00 fe 03 00 01 00000000 0c00 0900 0400 00 00 02000000`],
      ["a next hop longer than RTA_MULTIPATH", hex`02 10 00 00 fe 03 00 01 00000000 0c00 0900 1000 00 00 02000000`],
      ["a truncated rtnexthop header", hex`02 10 00 00 fe 03 00 01 00000000 0800 0900 1000 0000`],
    ] as const) {
      it(`rejects ${what} with NetlinkDecodeError`, () => {
        expect(() => decodeRoute(payload)).to.throw(NetlinkDecodeError);
      });
    }
  });

  describe("routeList", () => {
    // A dump split over two datagrams, as the kernel sends one skb at a time.
    const dumpReply = () => [
      concat(...[WITH_METRICS, DEFAULT_V4, IPMR, LOCAL].map((p) => frame(RTM_NEWROUTE, NLM_F_MULTI, p))),
      concat(...[ONLINK, MULTIPATH, V6].map((p) => frame(RTM_NEWROUTE, NLM_F_MULTI, p)), DONE),
    ];
    const list = (filter: RouteFilter) =>
      fakeHandle(dumpReply)
        .handle.routeList(filter)
        .map((r) => r.dst);

    it("dumps with a bare rtmsg of the family", () => {
      const { handle, kernel } = fakeHandle(dumpReply, dumpReply);
      handle.routeList();
      handle.routeList({ family: 6 });
      expect(kernel.requests.map(dump)).to.deep.equal(
        [
          hex`1c000000 1a00 0103 00000000 00000000  00 00 00 00 00 00 00 00 00000000  # RTM_GETROUTE, REQUEST|DUMP`,
          hex`1c000000 1a00 0103 00000000 00000000  0a 00 00 00 00 00 00 00 00000000  # AF_INET6`,
        ].map(dump),
      );
    });

    it("lists the main table by default, skipping non-IP families", () => {
      expect(list({})).to.deep.equal(["0.0.0.0/0", "10.244.1.0/24", "10.7.0.0/16", "fd00::/64"]);
    });

    it("lists another table, or every table with RT_TABLE_UNSPEC", () => {
      expect(list({ table: 1000 })).to.deep.equal(["10.2.0.0/16"]);
      expect(list({ table: RT_TABLE_UNSPEC })).to.have.length(6);
    });

    it("filters by family and by link, counting a multipath route's next hops", () => {
      expect(list({ family: 6 })).to.deep.equal(["fd00::/64"]);
      expect(list({ linkIndex: 3 })).to.deep.equal(["10.7.0.0/16"]);
      expect(list({ linkIndex: 2 })).to.deep.equal(["0.0.0.0/0", "10.7.0.0/16", "fd00::/64"]);
    });
  });
});

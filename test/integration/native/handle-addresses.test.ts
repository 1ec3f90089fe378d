// Handle address verbs against the kernel, checked with `ip -j addr`.

import { expect } from "chai";

import { loadNative } from "../../../native/loader";
import { encodeIfAddr } from "../../../native/netlink/address";
import { NetlinkConnection } from "../../../native/netlink/connection";
import {
  AF_INET,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  NETLINK_ROUTE,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "../../../native/netlink/constants";
import { isNetlinkError } from "../../../native/netlink/errors";
import { type IpAddress, type IpAddressInfo, thrown, useNetns } from "./fixture";

describe("Handle: addresses", () => {
  const host = useNetns("addrs");
  let br0: number;

  beforeEach(() => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    host.ns.ip("link", "set", "br0", "up");
    br0 = host.handle.linkByName("br0").index;
  });

  /** ip's view of br0's addresses of one family, without the kernel's own link-local one. */
  const oracle = (family: "inet" | "inet6"): IpAddressInfo[] =>
    (host.ns.ipJson<IpAddress[]>("addr", "show", "dev", "br0")[0]?.addr_info ?? []).filter(
      (a) => a.family === family && !a.local.startsWith("fe80:"),
    );

  it("adds an IPv4 address with the broadcast address derived from the prefix", () => {
    host.handle.addrAdd(br0, { cidr: "10.22.0.1/24" });
    expect(oracle("inet")).to.have.length(1);
    expect(oracle("inet")[0]).to.include({
      local: "10.22.0.1",
      prefixlen: 24,
      broadcast: "10.22.0.255",
      scope: "global",
    });
    const [listed] = host.handle.addrList({ linkIndex: br0, family: 4 });
    expect(listed).to.deep.include({ address: "10.22.0.1", prefixLength: 24, broadcast: "10.22.0.255", label: "br0" });
  });

  it("adds IPv4 addresses without a broadcast address: /31, /32, and on request", () => {
    host.handle.addrAdd(br0, { cidr: "10.22.1.0/31" });
    host.handle.addrAdd(br0, { cidr: "10.22.2.1/32" });
    host.handle.addrAdd(br0, { cidr: "10.22.3.1/24", broadcast: null });
    expect(oracle("inet").map((a) => [a.local, a.broadcast])).to.deep.equal([
      ["10.22.1.0", undefined],
      ["10.22.2.1", undefined],
      ["10.22.3.1", undefined],
    ]);
  });

  it("adds an IPv6 address without duplicate address detection", () => {
    host.handle.addrAdd(br0, { cidr: "fd00:22::1/64", flags: IFA_F_NODAD });
    expect(oracle("inet6")).to.have.length(1);
    expect(oracle("inet6")[0]).to.include({ local: "fd00:22::1", prefixlen: 64, nodad: true });
    const listed = host.handle.addrList({ linkIndex: br0, family: 6 }).find((a) => a.address === "fd00:22::1");
    expect(listed?.flags).to.satisfy((flags: number) => (flags & IFA_F_NODAD) !== 0);
  });

  it("fails with EEXIST and the kernel's explanation when the address is there already", () => {
    host.handle.addrAdd(br0, { cidr: "10.22.0.1/24" });
    const error = thrown(() => host.handle.addrAdd(br0, { cidr: "10.22.0.1/24" }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EEXIST"));
    expect(error).to.include({ errno: 17, kernelMessage: "ipv4: Address already assigned" });
    expect((error as Error).message).to.equal(`addrAdd #${br0} 10.22.0.1/24: EEXIST (ipv4: Address already assigned)`);
  });

  it("replaces an address in place, and adds one that is missing", () => {
    host.handle.addrReplace(br0, { cidr: "fd00:22::1/64", flags: IFA_F_NODAD });
    host.handle.addrReplace(br0, { cidr: "fd00:22::1/64", flags: IFA_F_NODAD | IFA_F_NOPREFIXROUTE });
    expect(oracle("inet6")).to.have.length(1);
    expect(oracle("inet6")[0]).to.include({ local: "fd00:22::1", noprefixroute: true });
    host.handle.addrReplace(br0, { cidr: "10.22.0.1/24" });
    host.handle.addrReplace(br0, { cidr: "10.22.0.1/24" });
    expect(oracle("inet").map((a) => a.local)).to.deep.equal(["10.22.0.1"]);
  });

  it("deletes addresses of both families; deleting a missing one fails with EADDRNOTAVAIL", () => {
    host.handle.addrAdd(br0, { cidr: "10.22.0.1/24" });
    host.handle.addrAdd(br0, { cidr: "fd00:22::1/64", flags: IFA_F_NODAD });
    host.handle.addrDel(br0, { cidr: "10.22.0.1/24" });
    host.handle.addrDel(br0, { cidr: "fd00:22::1/64" });
    expect(oracle("inet")).to.deep.equal([]);
    expect(oracle("inet6")).to.deep.equal([]);
    const error = thrown(() => host.handle.addrDel(br0, { cidr: "10.22.0.1/24" }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EADDRNOTAVAIL"));
  });

  it("lists what ip lists, filtered by link and family", () => {
    host.ns.ip("addr", "add", "10.22.0.1/24", "dev", "br0");
    host.ns.ip("addr", "add", "10.22.9.1/16", "dev", "br0");
    host.ns.ip("addr", "add", "fd00:22::1/64", "dev", "br0", "nodad");
    const all = host.ns.ipJson<IpAddress[]>("addr");
    const expected = all.flatMap((link) =>
      link.addr_info.map((a) => [link.ifindex, a.family === "inet" ? 4 : 6, a.local, a.prefixlen]),
    );
    const listed = host.handle.addrList().map((a) => [a.linkIndex, a.family, a.address, a.prefixLength]);
    expect(listed).to.have.deep.members(expected);
    expect(host.handle.addrList({ linkIndex: 1 }).map((a) => a.address)).to.have.members(["127.0.0.1", "::1"]);
    expect(host.handle.addrList({ linkIndex: br0, family: 4 }).map((a) => a.address)).to.deep.equal([
      "10.22.0.1",
      "10.22.9.1",
    ]);
  });

  it("has the kernel filter an address dump by link (strict checking), not only the codec", async () => {
    host.ns.ip("addr", "add", "10.22.0.1/24", "dev", "br0");
    const connection = NetlinkConnection.open(await loadNative(), NETLINK_ROUTE, host.ns.path);
    try {
      const replies = connection.dump({
        operation: "addrList",
        type: RTM_GETADDR,
        body: encodeIfAddr(AF_INET, 0, 0, 0, br0),
      });
      const indexes = replies
        .filter((m) => m.type === RTM_NEWADDR)
        .map((m) => new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(4, true));
      // lo's 127.0.0.1 would be in an unfiltered dump.
      expect(indexes).to.deep.equal([br0]);
    } finally {
      connection.close();
    }
  });
});

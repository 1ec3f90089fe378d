// Address text as the plugins read it from configs and results: what Go's net.ParseIP and
// net.ParseCIDR accept, no more (the ip-address library alone takes zones and leading zeros).

import { expect } from "chai";

import { ipFamily, parseCidr } from "../../../native/netlink/ip";

describe("address text", () => {
  it("gives the family of an IPv4 or IPv6 address", () => {
    expect(["10.0.0.1", "::1", "fd00::5", "::ffff:10.0.0.1"].map(ipFamily)).to.deep.equal([4, 6, 6, 6]);
  });

  it("refuses zones, leading zeros, prefixes, spaces and partial addresses", () => {
    for (const text of [
      "fe80::1%eth0",
      "fe80::1%",
      "010.0.0.1",
      "10.0.00.1",
      "10.0.0.1/24",
      " 10.0.0.1",
      "1.2.3",
      "",
    ]) {
      expect(ipFamily(text), text).to.equal(undefined);
    }
  });

  it("parses CIDRs and refuses the same malformed addresses in them", () => {
    expect(parseCidr("10.1.2.3/24")).to.deep.equal({ family: 4, address: "10.1.2.3", prefixLength: 24 });
    for (const text of ["fe80::1%eth0/64", "010.0.0.0/8", "10.0.0.0/33", "::/129", "10.0.0.0"]) {
      expect(() => parseCidr(text), text).to.throw(RangeError);
    }
  });
});

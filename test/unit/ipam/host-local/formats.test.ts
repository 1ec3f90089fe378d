// The two file formats host-local reads: its reservation files (shared with the reference) and
// resolv.conf for `resolvConf`.

import { expect } from "chai";

import { parseReservation } from "../../../../ipam/host-local/disk-store";
import { parseResolvConf } from "../../../../ipam/host-local/dns";

describe("host-local file formats", () => {
  describe("reservation files", () => {
    it("reads '<id>\\r\\n<ifname>' and the old '<id>', ignoring surrounding whitespace", () => {
      expect(parseReservation("10.0.0.2", "ctr\r\neth0")).to.deep.equal({
        address: "10.0.0.2",
        containerId: "ctr",
        ifName: "eth0",
      });
      expect(parseReservation("10.0.0.2", "  ctr\r\neth0\n")).to.deep.equal({
        address: "10.0.0.2",
        containerId: "ctr",
        ifName: "eth0",
      });
      expect(parseReservation("10.0.0.3", "ctr\n")).to.deep.equal({
        address: "10.0.0.3",
        containerId: "ctr",
        ifName: undefined,
      });
    });
  });

  describe("resolv.conf", () => {
    it("reads nameserver, domain, search and options lines; skips comments, blanks and unknown lines", () => {
      const text = [
        "# generated",
        "; also a comment",
        "",
        "nameserver 10.96.0.10",
        "  nameserver\t2001:db8::53  ",
        "domain example.com",
        "search a.example.com b.example.com",
        "search c.example.com",
        "options ndots:5 timeout:1",
        "sortlist 10.0.0.0",
        "nameserver",
      ].join("\n");
      expect(parseResolvConf(text)).to.deep.equal({
        nameservers: ["10.96.0.10", "2001:db8::53"],
        domain: "example.com",
        search: ["a.example.com", "b.example.com", "c.example.com"],
        options: ["ndots:5", "timeout:1"],
      });
    });

    it("gives an empty DNS for an empty file", () => {
      expect(parseResolvConf("")).to.deep.equal({});
    });
  });
});

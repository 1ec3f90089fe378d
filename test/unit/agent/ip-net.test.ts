// The subnet plan's address arithmetic.

import { expect } from "chai";

import {
  addressFamily,
  canonicalAddress,
  formatIpNet,
  isAligned,
  lastSubnetAddress,
  netContains,
  netsOverlap,
  offsetAddress,
  parseIpNet,
  subnetsBetween,
} from "../../../agent/ip-net";

const net = (cidr: string) => parseIpNet(cidr) ?? expect.fail(`${cidr} did not parse`);

describe("ip-net", () => {
  it("tells address families apart and refuses what Go's ParseIP refuses", () => {
    expect(addressFamily("10.0.0.1")).to.equal(4);
    expect(addressFamily("fd00::1")).to.equal(6);
    for (const text of ["010.0.0.1", "10.0.0", "10.0.0.1/8", "fe80::1%eth0", "", "x"]) {
      expect(addressFamily(text), text).to.equal(undefined);
    }
    expect(canonicalAddress("FD00:0:0:0::1")).to.equal("fd00::1");
  });

  it("parses CIDRs to their network, masking host bits", () => {
    expect(parseIpNet("10.244.7.9/16")).to.deep.equal({ family: 4, address: "10.244.0.0", prefixLength: 16 });
    expect(parseIpNet("fd00:10:244:1::5/56")).to.deep.equal({ family: 6, address: "fd00:10:244::", prefixLength: 56 });
    for (const text of ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "fd00::/129", "10.0.0.0/1a"]) {
      expect(parseIpNet(text), text).to.equal(undefined);
    }
  });

  it("checks alignment and containment", () => {
    expect(isAligned("10.244.1.0", 24)).to.equal(true);
    expect(isAligned("10.244.1.128", 24)).to.equal(false);
    expect(isAligned("fd00:0:0:1::", 64)).to.equal(true);
    expect(netContains(net("10.244.0.0/16"), "10.244.255.255")).to.equal(true);
    expect(netContains(net("10.244.0.0/16"), "10.245.0.0")).to.equal(false);
    expect(netContains(net("10.244.0.0/16"), "fd00::")).to.equal(false);
  });

  it("walks subnets and offsets by subnet sizes, in both families", () => {
    expect([...subnetsBetween("10.0.0.16", "10.0.0.64", 28)].map(formatIpNet)).to.deep.equal([
      "10.0.0.16/28",
      "10.0.0.32/28",
      "10.0.0.48/28",
      "10.0.0.64/28",
    ]);
    expect(offsetAddress("fd00:10:244::", 64, 1)).to.equal("fd00:10:244:1::");
    expect(lastSubnetAddress(net("10.244.0.0/16"), 24)).to.equal("10.244.255.0");
    expect(lastSubnetAddress(net("fd00:10:244::/56"), 64)).to.equal("fd00:10:244:ff::");
  });

  it("finds overlaps between blocks of different sizes, never across families", () => {
    expect(netsOverlap(net("10.0.0.0/24"), net("10.0.0.128/25"))).to.equal(true);
    expect(netsOverlap(net("10.0.1.0/24"), net("10.0.0.128/25"))).to.equal(false);
    expect(netsOverlap(net("0.0.0.0/0"), net("fd00::/8"))).to.equal(false);
  });
});

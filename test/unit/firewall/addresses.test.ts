import { expect } from "chai";

import { canonicalCidr, networkOf, parseInterfaceAddress } from "../../../firewall/addresses";

describe("firewall: addresses", () => {
  it("derives the host prefix and the subnet of a container address", () => {
    expect(parseInterfaceAddress("10.22.0.5/24")).to.deep.equal({
      family: 4,
      ip: "10.22.0.5",
      host: "10.22.0.5/32",
      subnet: "10.22.0.0/24",
    });
    expect(parseInterfaceAddress("FD00:0:0:0::5/64")).to.deep.equal({
      family: 6,
      ip: "fd00::5",
      host: "fd00::5/128",
      subnet: "fd00::/64",
    });
  });

  it("rejects what is not an address with a prefix", () => {
    for (const bad of ["10.22.0.5", "10.22.0.5/33", "fd00::5/129", "eth0", ""]) {
      expect(() => parseInterfaceAddress(bad), bad).to.throw(RangeError);
    }
  });

  it("canonicalises networks and host prefixes as the tools print them", () => {
    expect(networkOf("10.244.1.7/16")).to.equal("10.244.0.0/16");
    expect(networkOf("fd10:0:0:1::1/56")).to.equal("fd10::/56");
    expect(canonicalCidr("10.22.0.5")).to.equal("10.22.0.5/32");
    expect(canonicalCidr("fd00:0::5")).to.equal("fd00::5/128");
    expect(canonicalCidr("fd00:0::/64")).to.equal("fd00::/64");
  });
});

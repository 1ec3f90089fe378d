// net-conf.json: flannel's defaults (pkg/subnet CheckNetworkConfig, the vxlan backend's own), and
// every validation error naming its key.

import { expect } from "chai";

import {
  NetworkConfigError,
  parseNetworkConfig,
  parseNetworkConfigText,
  type NetworkConfig,
} from "../../../agent/network-config";

const VXLAN_DEFAULTS = {
  type: "vxlan",
  vni: 1,
  port: 8472,
  mtu: undefined,
  gbp: false,
  learning: false,
  directRouting: false,
};

function rejection(json: unknown): NetworkConfigError {
  try {
    parseNetworkConfig(json);
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(NetworkConfigError);
    return error as NetworkConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(json)}`);
}

describe("parseNetworkConfig (net-conf.json)", () => {
  describe("defaults", () => {
    it("fills kube-flannel's config: IPv4 only, /24 subnets skipping the first, vxlan VNI 1 port 8472", () => {
      const config: NetworkConfig = parseNetworkConfig({
        Network: "10.244.0.0/16",
        EnableNFTables: false,
        Backend: { Type: "vxlan" },
      });
      expect(config).to.deep.equal({
        enableIPv4: true,
        enableIPv6: false,
        network: "10.244.0.0/16",
        subnetLen: 24,
        subnetMin: "10.244.1.0",
        subnetMax: "10.244.255.0",
        ipv6Network: undefined,
        ipv6SubnetLen: 0,
        ipv6SubnetMin: undefined,
        ipv6SubnetMax: undefined,
        backend: VXLAN_DEFAULTS,
      });
    });

    it("splits a network smaller than /22 into four (prefix + 2), down to /28", () => {
      expect(parseNetworkConfig({ Network: "10.5.0.0/23" })).to.deep.include({
        subnetLen: 25,
        subnetMin: "10.5.0.128",
        subnetMax: "10.5.1.128",
      });
      expect(parseNetworkConfig({ Network: "10.5.0.0/22" })).to.deep.include({ subnetLen: 24 });
      expect(parseNetworkConfig({ Network: "10.5.0.0/28" })).to.deep.include({
        subnetLen: 30,
        subnetMin: "10.5.0.4",
        subnetMax: "10.5.0.12",
      });
    });

    it("masks host bits of Network as Go's ParseCIDR does", () => {
      expect(parseNetworkConfig({ Network: "10.244.7.9/16" })).to.deep.include({ network: "10.244.0.0/16" });
    });

    it("keeps explicit SubnetLen, SubnetMin and SubnetMax; 0 and 0.0.0.0 mean unset, as Go's zero values", () => {
      expect(
        parseNetworkConfig({ Network: "10.0.0.0/8", SubnetLen: 20, SubnetMin: "10.1.0.0", SubnetMax: "10.2.0.0" }),
      ).to.deep.include({ subnetLen: 20, subnetMin: "10.1.0.0", subnetMax: "10.2.0.0" });
      expect(
        parseNetworkConfig({ Network: "10.0.0.0/8", SubnetLen: 0, SubnetMin: "0.0.0.0", SubnetMax: "0.0.0.0" }),
      ).to.deep.include({ subnetLen: 24, subnetMin: "10.0.1.0", subnetMax: "10.255.255.0" });
    });

    it("adds IPv6 with /64 subnets for a /62 or larger network, canonical addresses", () => {
      expect(
        parseNetworkConfig({ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:244:0::/56" }),
      ).to.deep.include({
        enableIPv4: true,
        enableIPv6: true,
        ipv6Network: "fd00:10:244::/56",
        ipv6SubnetLen: 64,
        ipv6SubnetMin: "fd00:10:244:1::",
        ipv6SubnetMax: "fd00:10:244:ff::",
      });
      expect(parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/120" })).to.deep.include({
        enableIPv4: false,
        network: undefined,
        ipv6SubnetLen: 122,
        ipv6SubnetMin: "fd00::40",
        ipv6SubnetMax: "fd00::c0",
      });
    });

    it("reads every vxlan key; Port 0 is the kernel's 8472", () => {
      const backend = {
        Type: "vxlan",
        VNI: 4096,
        Port: 4789,
        MTU: 9000,
        GBP: true,
        Learning: true,
        DirectRouting: true,
      };
      expect(parseNetworkConfig({ Network: "10.244.0.0/16", Backend: backend }).backend).to.deep.equal({
        type: "vxlan",
        vni: 4096,
        port: 4789,
        mtu: 9000,
        gbp: true,
        learning: true,
        directRouting: true,
      });
      expect(parseNetworkConfig({ Network: "10.244.0.0/16", Backend: { Port: 0 } }).backend.port).to.equal(8472);
    });

    it("takes vxlan when Backend or its Type is absent (the only backend there is)", () => {
      expect(parseNetworkConfig({ Network: "10.244.0.0/16" }).backend).to.deep.equal(VXLAN_DEFAULTS);
      expect(parseNetworkConfig({ Network: "10.244.0.0/16", Backend: {} }).backend).to.deep.equal(VXLAN_DEFAULTS);
    });

    it("ignores keys it does not know, as Go's decoder does", () => {
      expect(() =>
        parseNetworkConfig({ Network: "10.244.0.0/16", Whatever: 1, Backend: { MacPrefix: "0E" } }),
      ).to.not.throw();
    });
  });

  describe("errors name the key", () => {
    const cases: readonly [string, unknown, string, RegExp][] = [
      ["a config that is no object", ["x"], "(root)", /expected an object/],
      ["both families disabled", { EnableIPv4: false }, "EnableIPv4", /both false/],
      ["EnableIPv4 of the wrong type", { EnableIPv4: "yes", Network: "10.0.0.0/8" }, "EnableIPv4", /a boolean/],
      ["a missing Network", {}, "Network", /IPv4 CIDR/],
      ["a Network that is no CIDR", { Network: "10.244.0.0" }, "Network", /IPv4 CIDR/],
      ["an IPv6 Network", { Network: "fd00::/56" }, "Network", /IPv4 CIDR/],
      ["a Network of the wrong type", { Network: 10 }, "Network", /a string/],
      ["a Network smaller than /28", { Network: "10.5.0.0/29" }, "Network", /minimum useful prefix is \/28/],
      ["SubnetLen above 30", { Network: "10.0.0.0/8", SubnetLen: 31 }, "SubnetLen", /at most 30/],
      ["SubnetLen for fewer than four subnets", { Network: "10.0.0.0/16", SubnetLen: 17 }, "SubnetLen", /at least 18/],
      ["SubnetLen that is no integer", { Network: "10.0.0.0/8", SubnetLen: 24.5 }, "SubnetLen", /an integer/],
      [
        "SubnetMin outside Network",
        { Network: "10.244.0.0/16", SubnetMin: "10.245.0.0" },
        "SubnetMin",
        /not in the range/,
      ],
      ["SubnetMin off a boundary", { Network: "10.244.0.0/16", SubnetMin: "10.244.1.1" }, "SubnetMin", /\/24 boundary/],
      [
        "SubnetMin that is no IPv4 address",
        { Network: "10.244.0.0/16", SubnetMin: "fd00::" },
        "SubnetMin",
        /IPv4 address/,
      ],
      [
        "SubnetMax outside Network",
        { Network: "10.244.0.0/16", SubnetMax: "10.0.0.0" },
        "SubnetMax",
        /not in the range/,
      ],
      ["SubnetMax off a boundary", { Network: "10.244.0.0/16", SubnetMax: "10.244.9.128" }, "SubnetMax", /boundary/],
      [
        "SubnetMin above SubnetMax",
        { Network: "10.244.0.0/16", SubnetMin: "10.244.9.0", SubnetMax: "10.244.8.0" },
        "SubnetMin",
        /above SubnetMax/,
      ],
      ["EnableIPv6 without IPv6Network", { Network: "10.0.0.0/8", EnableIPv6: true }, "IPv6Network", /IPv6 CIDR/],
      [
        "an IPv4 IPv6Network",
        { EnableIPv6: true, EnableIPv4: false, IPv6Network: "10.0.0.0/8" },
        "IPv6Network",
        /IPv6/,
      ],
      [
        "an IPv6Network smaller than /124",
        { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/125" },
        "IPv6Network",
        /\/124/,
      ],
      [
        "IPv6SubnetLen above 126",
        { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetLen: 127 },
        "IPv6SubnetLen",
        /at most 126/,
      ],
      [
        "IPv6SubnetLen for fewer than four subnets",
        { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetLen: 57 },
        "IPv6SubnetLen",
        /at least 58/,
      ],
      [
        "IPv6SubnetMin off a boundary",
        { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetMin: "fd00:0:0:1::1" },
        "IPv6SubnetMin",
        /\/64 boundary/,
      ],
      [
        "IPv6SubnetMax outside IPv6Network",
        { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetMax: "fd01::" },
        "IPv6SubnetMax",
        /not in the range/,
      ],
      ["Backend that is no object", { Network: "10.0.0.0/8", Backend: "vxlan" }, "Backend", /an object/],
      ["another backend Type", { Network: "10.0.0.0/8", Backend: { Type: "host-gw" } }, "Backend.Type", /only "vxlan"/],
      ["a VNI above 24 bits", { Network: "10.0.0.0/8", Backend: { VNI: 16777216 } }, "Backend.VNI", /0 to 16777215/],
      ["a VNI given as text", { Network: "10.0.0.0/8", Backend: { VNI: "1" } }, "Backend.VNI", /an integer/],
      ["a Port above 65535", { Network: "10.0.0.0/8", Backend: { Port: 65536 } }, "Backend.Port", /0 to 65535/],
      ["an MTU below 68", { Network: "10.0.0.0/8", Backend: { MTU: 50 } }, "Backend.MTU", /at least 68/],
      ["a GBP that is no boolean", { Network: "10.0.0.0/8", Backend: { GBP: 1 } }, "Backend.GBP", /a boolean/],
      [
        "a Learning that is no boolean",
        { Network: "10.0.0.0/8", Backend: { Learning: "no" } },
        "Backend.Learning",
        /a boolean/,
      ],
      ["a negative MTU", { Network: "10.0.0.0/8", Backend: { MTU: -1 } }, "Backend.MTU", /0 to 65535/],
      [
        "a DirectRouting that is no boolean",
        { Network: "10.0.0.0/8", Backend: { DirectRouting: "yes" } },
        "Backend.DirectRouting",
        /a boolean/,
      ],
    ];
    for (const [what, json, key, message] of cases) {
      it(`rejects ${what} (${key})`, () => {
        const error = rejection(json);
        expect(error.key).to.equal(key);
        expect(error.message).to.match(new RegExp(`^${key.replace(/[.()]/g, "\\$&")}: `));
        expect(error.message).to.match(message);
      });
    }

    it("reports text that is not JSON at the root, with the parser's complaint as the cause", () => {
      const error = (() => {
        try {
          parseNetworkConfigText('{"Network": ');
        } catch (e: unknown) {
          return e as NetworkConfigError;
        }
        throw new Error("accepted");
      })();
      expect(error).to.be.instanceOf(NetworkConfigError).and.include({ key: "(root)" });
      expect(error.cause).to.be.instanceOf(SyntaxError);
    });
  });
});

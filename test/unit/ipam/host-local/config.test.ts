// host-local configuration: every key, its default, and every validation error (which must name
// the key it is about).

import { expect } from "chai";

import { CniArgs } from "../../../../cni/cni-args";
import { CniError, ErrorCode } from "../../../../cni/errors";
import type { NetConf } from "../../../../cni/plugin";
import type { SpecVersion } from "../../../../cni/version";
import { formatAddress } from "../../../../ipam/host-local/address";
import {
  DEFAULT_DATA_DIR,
  parseConfig,
  parseRequestedAddresses,
  parseStoreLocation,
} from "../../../../ipam/host-local/config";
import type { Range } from "../../../../ipam/host-local/range-set";
import { netConf } from "./support/net-conf";

const withIpam = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, version?: SpecVersion) =>
  netConf({ ipam: { type: "host-local", ...ipam }, ...extra }, version);

/** A range as text: "start-end gw gateway /prefix". */
function describeRange(range: Range): string {
  const text = (value: bigint) => formatAddress(range.address(value));
  return `${text(range.start)}-${text(range.end)} gw ${text(range.gateway)} /${range.prefixLength}`;
}

function rangesOf(conf: NetConf): string[][] {
  return parseConfig(conf).rangeSets.map((set) => set.ranges.map(describeRange));
}

function configError(parse: () => unknown, code: number = ErrorCode.InvalidNetworkConfig): string {
  try {
    parse();
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(CniError);
    expect((error as CniError).code, (error as CniError).message).to.equal(code);
    return (error as CniError).message;
  }
  throw new Error("expected a configuration error");
}

const rangeError = (range: Record<string, unknown>): string =>
  configError(() => parseConfig(withIpam({ ranges: [[range]] })));

describe("host-local configuration", () => {
  describe("ranges and their defaults", () => {
    it("defaults rangeStart and the gateway to .1 and rangeEnd to the last address before the broadcast", () => {
      expect(rangesOf(withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }]] }))).to.deep.equal([
        ["10.1.2.1-10.1.2.254 gw 10.1.2.1 /24"],
      ]);
    });

    it("defaults rangeEnd to the last address of an IPv6 subnet (no broadcast there)", () => {
      expect(rangesOf(withIpam({ ranges: [[{ subnet: "2001:db8:1::/64" }]] }))).to.deep.equal([
        ["2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff gw 2001:db8:1::1 /64"],
      ]);
    });

    it("takes rangeStart, rangeEnd and gateway as given; empty strings count as absent", () => {
      const conf = withIpam({
        ranges: [
          [{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10", rangeEnd: "10.1.2.20", gateway: "10.1.2.254" }],
          [{ subnet: "10.1.3.0/24", rangeStart: "", rangeEnd: "", gateway: "" }],
        ],
      });
      expect(rangesOf(conf)).to.deep.equal([
        ["10.1.2.10-10.1.2.20 gw 10.1.2.254 /24"],
        ["10.1.3.1-10.1.3.254 gw 10.1.3.1 /24"],
      ]);
    });

    it("accepts a gateway outside the subnet, as the current reference does", () => {
      expect(rangesOf(withIpam({ ranges: [[{ subnet: "10.1.2.0/24", gateway: "10.9.9.9" }]] }))).to.deep.equal([
        ["10.1.2.1-10.1.2.254 gw 10.9.9.9 /24"],
      ]);
    });

    it("keeps several ranges in one set, and one set per family for dual stack", () => {
      const conf = withIpam({
        ranges: [[{ subnet: "10.1.2.0/24" }, { subnet: "10.1.4.0/24" }], [{ subnet: "2001:db8:1::/64" }]],
      });
      const config = parseConfig(conf);
      expect(config.rangeSets.map((set) => [set.family, set.ranges.length])).to.deep.equal([
        [4, 2],
        [6, 1],
      ]);
    });

    it("prepends the legacy top-level range, and the ipRanges capability before it", () => {
      const conf = withIpam(
        { subnet: "10.1.1.0/24", rangeStart: "10.1.1.5", gateway: "10.1.1.9", ranges: [[{ subnet: "10.1.3.0/24" }]] },
        { runtimeConfig: { ipRanges: [[{ subnet: "2001:db8:1::/64" }]] } },
      );
      expect(rangesOf(conf).map((set) => set[0]?.split(" ")[0])).to.deep.equal([
        "2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff",
        "10.1.1.5-10.1.1.254",
        "10.1.3.1-10.1.3.254",
      ]);
    });

    it("accepts the legacy keys alone", () => {
      expect(rangesOf(withIpam({ subnet: "10.1.1.0/24", rangeEnd: "10.1.1.100" }))).to.deep.equal([
        ["10.1.1.1-10.1.1.100 gw 10.1.1.1 /24"],
      ]);
    });
  });

  describe("other keys", () => {
    it("defaults dataDir and reads routes and resolvConf", () => {
      const config = parseConfig(
        withIpam({
          ranges: [[{ subnet: "10.1.2.0/24" }]],
          routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.1.2.254", priority: 5 }],
          resolvConf: "/etc/resolv.conf",
        }),
      );
      expect(config.dataDir).to.equal(DEFAULT_DATA_DIR).and.equal("/var/lib/cni/networks");
      expect(config.network).to.equal("net");
      expect(config.routes).to.deep.equal([
        { dst: "0.0.0.0/0" },
        { dst: "192.168.0.0/16", gw: "10.1.2.254", priority: 5 },
      ]);
      expect(config.resolvConf).to.equal("/etc/resolv.conf");
    });

    it("reads only the store location for DEL and GC, whatever the ranges say", () => {
      const conf = withIpam({ dataDir: "/run/cni", ranges: [[{ subnet: "10.1.2.0/31" }]] });
      expect(parseStoreLocation(conf)).to.deep.equal({ dataDir: "/run/cni", network: "net" });
      expect(parseStoreLocation(withIpam({ dataDir: "" })).dataDir).to.equal(DEFAULT_DATA_DIR);
    });
  });

  describe("validation errors name the key", () => {
    it("the ipam key itself", () => {
      expect(configError(() => parseConfig(netConf({})))).to.match(/^ipam: missing/);
      expect(configError(() => parseConfig(netConf({ ipam: "host-local" })))).to.match(/^ipam: expected an object/);
      expect(configError(() => parseStoreLocation(netConf({})))).to.match(/^ipam: missing/);
    });

    it("no ranges, an empty set, a set that is not a list, a range that is not an object", () => {
      expect(configError(() => parseConfig(withIpam({})))).to.equal("ipam.ranges: no IP ranges specified");
      expect(configError(() => parseConfig(withIpam({ ranges: [] })))).to.equal("ipam.ranges: no IP ranges specified");
      expect(configError(() => parseConfig(withIpam({ ranges: [[]] })))).to.equal("ipam.ranges[0]: empty range set");
      expect(configError(() => parseConfig(withIpam({ ranges: [{ subnet: "10.0.0.0/24" }] })))).to.match(
        /^ipam\.ranges\[0\]: expected an array of ranges/,
      );
      expect(configError(() => parseConfig(withIpam({ ranges: [["10.0.0.0/24"]] })))).to.match(
        /^ipam\.ranges\[0\]\[0\]: expected an object/,
      );
    });

    it("a missing, malformed, too small or host-bits subnet", () => {
      expect(rangeError({})).to.equal("ipam.ranges[0][0].subnet: missing: every range needs a subnet");
      expect(rangeError({ subnet: 24 })).to.match(/^ipam\.ranges\[0\]\[0\]\.subnet: expected a string/);
      for (const subnet of ["10.0.0.0", "10.0.0.0/33", "10.0.0/24", "010.0.0.0/24", "2001:db8::/129", "x/8", ""]) {
        expect(rangeError({ subnet }), subnet).to.equal(
          `ipam.ranges[0][0].subnet: ${JSON.stringify(subnet)} is not a CIDR`,
        );
      }
      for (const subnet of ["10.0.0.0/31", "10.0.0.1/32", "2001:db8::/127", "2001:db8::1/128"]) {
        expect(rangeError({ subnet }), subnet).to.equal(
          `ipam.ranges[0][0].subnet: network ${subnet} too small to allocate from`,
        );
      }
      expect(rangeError({ subnet: "10.0.0.5/24" })).to.equal(
        "ipam.ranges[0][0].subnet: 10.0.0.5/24 has host bits set; the network address is 10.0.0.0/24",
      );
      expect(rangeError({ subnet: "2001:db8::1/64" })).to.equal(
        "ipam.ranges[0][0].subnet: 2001:db8::1/64 has host bits set; the network address is 2001:db8::/64",
      );
    });

    it("rangeStart, rangeEnd and gateway that are not addresses, of the other family, or outside the subnet", () => {
      const subnet = "10.0.0.0/24";
      expect(rangeError({ subnet, gateway: "10.0.0" })).to.equal(
        'ipam.ranges[0][0].gateway: "10.0.0" is not an IP address',
      );
      expect(rangeError({ subnet, gateway: "2001:db8::1" })).to.equal(
        "ipam.ranges[0][0].gateway: 2001:db8::1 is not an IPv4 address like the subnet",
      );
      expect(rangeError({ subnet, rangeStart: "10.0.0.5/24" })).to.equal(
        'ipam.ranges[0][0].rangeStart: "10.0.0.5/24" is not an IP address',
      );
      expect(rangeError({ subnet, rangeStart: "10.0.1.5" })).to.equal(
        "ipam.ranges[0][0].rangeStart: 10.0.1.5 is not in network 10.0.0.0/24",
      );
      expect(rangeError({ subnet, rangeEnd: "10.0.1.5" })).to.equal(
        "ipam.ranges[0][0].rangeEnd: 10.0.1.5 is not in network 10.0.0.0/24",
      );
      expect(rangeError({ subnet: "2001:db8::/64", rangeEnd: "10.0.0.9" })).to.equal(
        "ipam.ranges[0][0].rangeEnd: 10.0.0.9 is not an IPv6 address like the subnet",
      );
      expect(rangeError({ subnet, rangeStart: 5 })).to.match(/^ipam\.ranges\[0\]\[0\]\.rangeStart: expected a string/);
    });

    it("a rangeStart after rangeEnd (the reference accepts it and then misbehaves)", () => {
      expect(rangeError({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.50", rangeEnd: "10.0.0.40" })).to.equal(
        "ipam.ranges[0][0].rangeEnd: 10.0.0.40 is before rangeStart 10.0.0.50",
      );
    });

    it("a range with nothing to hand out but its gateway (the reference fails every ADD instead)", () => {
      expect(rangeError({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.1", rangeEnd: "10.0.0.1" })).to.equal(
        "ipam.ranges[0][0]: 10.0.0.1-10.0.0.1 has no address to hand out besides the gateway, network or broadcast",
      );
      expect(rangeError({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.255", rangeEnd: "10.0.0.255" })).to.match(
        /^ipam\.ranges\[0\]\[0\]: 10\.0\.0\.255-10\.0\.0\.255 has no address/,
      );
    });

    it("mixed families in one set", () => {
      const conf = withIpam({ ranges: [[{ subnet: "10.0.0.0/24" }, { subnet: "2001:db8::/64" }]] });
      expect(configError(() => parseConfig(conf))).to.equal(
        "ipam.ranges[0][1]: mixed address families in one range set",
      );
    });

    it("overlapping ranges within a set and overlapping sets", () => {
      const within = withIpam({
        ranges: [
          [{ subnet: "10.0.0.0/24" }, { subnet: "10.0.1.0/24" }, { subnet: "10.0.0.0/16", rangeStart: "10.0.1.200" }],
        ],
      });
      expect(configError(() => parseConfig(within))).to.equal(
        "ipam.ranges[0][2]: 10.0.1.200-10.0.255.254 overlaps ipam.ranges[0][1] (10.0.1.1-10.0.1.254)",
      );
      const across = withIpam({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.0.0/16" }]] });
      expect(configError(() => parseConfig(across))).to.equal(
        "ipam.ranges[1]: range set overlaps range set ipam.ranges[0]",
      );
      const withLegacy = withIpam({ subnet: "10.0.0.0/24", ranges: [[{ subnet: "10.0.0.0/24" }]] });
      expect(configError(() => parseConfig(withLegacy))).to.equal("ipam.ranges[0]: range set overlaps range set ipam");
      const fromCapability = withIpam(
        { ranges: [[{ subnet: "10.0.0.0/24" }]] },
        { runtimeConfig: { ipRanges: [[{ subnet: "10.0.0.0/25" }]] } },
      );
      expect(configError(() => parseConfig(fromCapability))).to.equal(
        "ipam.ranges[0]: range set overlaps range set runtimeConfig.ipRanges[0]",
      );
    });

    it("ranges that only touch do not overlap; different families never do", () => {
      const conf = withIpam({
        ranges: [
          [
            { subnet: "10.0.0.0/24", rangeEnd: "10.0.0.100" },
            { subnet: "10.0.0.0/24", rangeStart: "10.0.0.101" },
          ],
          [{ subnet: "2001:db8::/64" }],
        ],
      });
      expect(rangesOf(conf)).to.have.length(2);
    });

    it("legacy rangeStart, rangeEnd or gateway without a legacy subnet (the reference ignores them)", () => {
      for (const key of ["rangeStart", "rangeEnd", "gateway"]) {
        const conf = withIpam({ [key]: "10.0.0.5", ranges: [[{ subnet: "10.0.0.0/24" }]] });
        expect(configError(() => parseConfig(conf))).to.equal(
          `ipam.${key}: needs ipam.subnet (or move it into ipam.ranges)`,
        );
      }
    });

    it("more than one address per family before 0.3.0", () => {
      const ranges = [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.1.0/24" }]];
      expect(configError(() => parseConfig(withIpam({ ranges }, {}, "0.2.0")))).to.equal(
        "ipam.ranges: CNI version 0.2.0 does not support more than 1 address per family (2 IPv4 range sets)",
      );
      expect(rangesOf(withIpam({ ranges }, {}, "0.3.0"))).to.have.length(2);
      const dualStack = [[{ subnet: "10.0.0.0/24" }], [{ subnet: "2001:db8::/64" }]];
      expect(rangesOf(withIpam({ ranges: dualStack }, {}, "0.2.0"))).to.have.length(2);
    });

    it("routes, dataDir and resolvConf of the wrong shape", () => {
      const ranges = [[{ subnet: "10.0.0.0/24" }]];
      expect(configError(() => parseConfig(withIpam({ ranges, routes: [{ dst: "10.0.0.0" }] })))).to.equal(
        'ipam.routes[0]: invalid CIDR "10.0.0.0"',
      );
      expect(configError(() => parseConfig(withIpam({ ranges, routes: [{ gw: "10.0.0.1" }] })))).to.match(
        /^ipam\.routes\[0\]\.dst: expected a string/,
      );
      expect(configError(() => parseConfig(withIpam({ ranges, dataDir: 7 })))).to.match(
        /^ipam\.dataDir: expected a string/,
      );
      expect(configError(() => parseConfig(withIpam({ ranges, resolvConf: [] })))).to.match(
        /^ipam\.resolvConf: expected a string/,
      );
      expect(
        configError(() =>
          parseConfig(withIpam({ ranges }, { runtimeConfig: { ipRanges: [{ subnet: "10.1.0.0/24" }] } })),
        ),
      ).to.match(/^runtimeConfig\.ipRanges\[0\]: expected an array of ranges/);
    });
  });

  describe("requested addresses", () => {
    const rangeSets = parseConfig(
      withIpam({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "2001:db8::/64" }]] }),
    ).rangeSets;
    const requested = (conf: NetConf, cniArgs = "") =>
      parseRequestedAddresses(conf, new CniArgs(cniArgs), rangeSets).map(formatAddress);

    it("merges CNI_ARGS IP, args.cni.ips and runtimeConfig.ips in that order, without repeats", () => {
      const conf = netConf({
        args: { cni: { ips: ["2001:db8::5", "10.0.0.7/24"] } },
        runtimeConfig: { ips: ["10.0.0.6", "10.0.0.5", "2001:DB8:0::5/64"] },
      });
      expect(requested(conf, "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.0.0.5")).to.deep.equal([
        "10.0.0.5",
        "2001:db8::5",
        "10.0.0.7",
        "10.0.0.6",
      ]);
      expect(requested(netConf({}))).to.deep.equal([]);
      expect(requested(netConf({}), "IP=")).to.deep.equal([]);
      expect(requested(netConf({}), "MAC=0a:58:0a:00:00:05;IP=::ffff:10.0.0.9")).to.deep.equal(["10.0.0.9"]);
    });

    it("rejects what is not an address, naming where it came from", () => {
      expect(configError(() => requested(netConf({}), "IP=10.0.0.300"), ErrorCode.InvalidEnvironment)).to.equal(
        'CNI_ARGS IP: "10.0.0.300" is not an IP address',
      );
      expect(configError(() => requested(netConf({}), "FOO=bar"), ErrorCode.InvalidEnvironment)).to.match(
        /^invalid CNI_ARGS: unknown args/,
      );
      expect(configError(() => requested(netConf({ args: { cni: { ips: ["10.0.0.1/40"] } } })))).to.equal(
        'args.cni.ips[0]: "10.0.0.1/40" is not an IP address',
      );
      expect(configError(() => requested(netConf({ runtimeConfig: { ips: ["10.0.0.9", 5] } })))).to.match(
        /^runtimeConfig\.ips\[1\]: expected an IP address/,
      );
      expect(configError(() => requested(netConf({ runtimeConfig: { ips: "10.0.0.1" } })))).to.match(
        /^runtimeConfig\.ips: expected an array/,
      );
    });

    it("rejects an address no range can ever hand out (code 4 from CNI_ARGS, 7 from the config)", () => {
      expect(configError(() => requested(netConf({}), "IP=192.0.2.1"), ErrorCode.InvalidEnvironment)).to.equal(
        "CNI_ARGS IP: 192.0.2.1 is in none of the ranges",
      );
      expect(configError(() => requested(netConf({ args: { cni: { ips: ["10.0.0.1"] } } })))).to.equal(
        "args.cni.ips[0]: 10.0.0.1 is the gateway, network or broadcast address of range 10.0.0.1-10.0.0.254",
      );
      for (const address of ["10.0.0.0", "10.0.0.255"]) {
        expect(configError(() => requested(netConf({ runtimeConfig: { ips: [address] } })))).to.equal(
          `runtimeConfig.ips[0]: ${address} is in none of the ranges`,
        );
      }
    });
  });
});

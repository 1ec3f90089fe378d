// subnet.env as the upstream flannel CNI plugin reads it (`loadFlannelSubnetEnv`). The expectations
// were checked against the upstream plugin's own parsing of the same files.

import { expect } from "chai";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { formatSubnetEnv } from "../../../agent/subnet-env";
import { loadSubnetEnv, parseSubnetEnv, SubnetEnvError } from "../../../plugins/flannel/subnet-env";
import { scratchDir } from "../../helpers/suite";

const FILE = "/run/flannel/subnet.env";
const parse = (text: string) => parseSubnetEnv(text, FILE);

/** The error parseSubnetEnv throws for `text`. */
function failure(text: string): SubnetEnvError {
  try {
    parse(text);
  } catch (error: unknown) {
    if (error instanceof SubnetEnvError) return error;
    throw error;
  }
  expect.fail(`expected ${JSON.stringify(text)} to be refused`);
}

// What flanneld's WriteSubnetFile writes: fixed order, a newline after every line.
const FLANNELD_V4 =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const FLANNELD_DUAL =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n" +
  "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" +
  "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";

describe("flannel subnet.env", () => {
  it("reads flanneld's IPv4 file, FLANNEL_SUBNET as its network", () => {
    expect(parse(FLANNELD_V4)).to.deep.equal({
      networks: ["10.244.0.0/16"],
      subnet: "10.244.1.0/24",
      ipv6Networks: [],
      ipv6Subnet: undefined,
      mtu: 1450,
      ipMasq: true,
    });
  });

  it("reads a dual-stack file", () => {
    expect(parse(FLANNELD_DUAL)).to.deep.equal({
      networks: ["10.244.0.0/16"],
      subnet: "10.244.1.0/24",
      ipv6Networks: ["fd00:10:244::/56"],
      ipv6Subnet: "fd00:10:244:1::/64",
      mtu: 1450,
      ipMasq: false,
    });
  });

  it("reads what the tscni agent writes, byte for byte flanneld's file", () => {
    const written = formatSubnetEnv({
      network: "10.244.0.0/16",
      subnet: "10.244.1.0/24",
      ipv6Network: "fd00:10:244::/56",
      ipv6Subnet: "fd00:10:244:1::/64",
      mtu: 1450,
      ipMasq: false,
    });
    expect(written).to.equal(FLANNELD_DUAL);
    expect(parse(written)).to.deep.equal(parse(FLANNELD_DUAL));
  });

  it("reads an IPv6-only file", () => {
    const env = parse(
      "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
    );
    expect(env.networks).to.deep.equal([]);
    expect(env.subnet).to.equal(undefined);
    expect(env.ipv6Networks).to.deep.equal(["fc00::/48"]);
    expect(env.ipv6Subnet).to.equal("fc00::/64");
  });

  it("splits comma-separated networks, each normalised, a repeated network kept once", () => {
    const env = parse(FLANNELD_V4.replace("10.244.0.0/16", "10.244.0.0/16,192.168.0.0/16,10.244.7.0/16"));
    expect(env.networks).to.deep.equal(["10.244.0.0/16", "192.168.0.0/16"]);
    const v6 = parse(FLANNELD_DUAL.replace("fd00:10:244::/56", "fd00:10:244::/56,FD00:10:244:0::1/56,fd01::/48"));
    expect(v6.ipv6Networks).to.deep.equal(["fd00:10:244::/56", "fd01::/48"]);
  });

  it("takes lines as Go's scanner does: CRLF, no final newline, unknown keys, last repeat wins", () => {
    const text =
      "# not a comment to flannel\nFOO=bar\nFLANNEL_NETWORK=10.9.0.0/16\r\nFLANNEL_NETWORK=10.1.0.0/16\r\n" +
      "FLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=01472\nFLANNEL_IPMASQ=true";
    expect(parse(text)).to.deep.include({ networks: ["10.1.0.0/16"], subnet: "10.1.17.0/24", mtu: 1472, ipMasq: true });
  });

  it("reads prefix lengths with leading zeros and prints addresses canonically", () => {
    const env = parse(
      "FLANNEL_NETWORK=10.1.0.0/016\nFLANNEL_SUBNET=10.1.17.1/024\n" +
        "FLANNEL_IPV6_NETWORK=FD00:10:244:0:0::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1:0:0:0:1/64\n" +
        "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    expect(env).to.deep.include({
      networks: ["10.1.0.0/16"],
      subnet: "10.1.17.0/24",
      ipv6Networks: ["fd00:10:244::/56"],
      ipv6Subnet: "fd00:10:244:1::/64",
    });
  });

  it('takes FLANNEL_IPMASQ as true only when it is exactly "true"', () => {
    for (const [value, expected] of [
      ["true", true],
      ["false", false],
      ["True", false],
      ["1", false],
      ["", false],
    ] as const) {
      expect(parse(FLANNELD_V4.replace("FLANNEL_IPMASQ=true", `FLANNEL_IPMASQ=${value}`)).ipMasq, value).to.equal(
        expected,
      );
    }
  });

  it("reads FLANNEL_MTU as an unsigned 32-bit decimal", () => {
    const mtu = (value: string) => parse(FLANNELD_V4.replace("FLANNEL_MTU=1450", `FLANNEL_MTU=${value}`)).mtu;
    expect(mtu("0")).to.equal(0);
    expect(mtu("4294967295")).to.equal(4294967295);
    for (const bad of ["", "+1450", "-1", "1450 ", "0x5aa", "1_450", "4294967296", "1e3"]) {
      const error = failure(FLANNELD_V4.replace("FLANNEL_MTU=1450", `FLANNEL_MTU=${bad}`));
      expect(error.problem, bad).to.equal("invalid");
      expect(error.message).to.equal(`${FILE} line 3: invalid FLANNEL_MTU ${JSON.stringify(bad)}`);
    }
  });

  it("refuses what Go's net.ParseCIDR refuses, naming the key and line", () => {
    const bad = [
      "FLANNEL_NETWORK=",
      "FLANNEL_NETWORK=10.244.0.0/16, 192.168.0.0/16",
      "FLANNEL_NETWORK=10.244.0.0/16,",
      "FLANNEL_NETWORK=010.244.0.0/16",
      "FLANNEL_NETWORK=10.244.0.0/33",
      "FLANNEL_NETWORK=10.244.0.0",
      "FLANNEL_NETWORK= 10.244.0.0/16",
      "FLANNEL_NETWORK=fe80::%eth0/64",
    ];
    for (const line of bad) {
      const error = failure(FLANNELD_V4.replace("FLANNEL_NETWORK=10.244.0.0/16", line));
      expect(error.problem, line).to.equal("invalid");
      expect(error.message, line).to.match(/^\/run\/flannel\/subnet\.env line 1: invalid FLANNEL_NETWORK "/);
    }
    expect(failure(FLANNELD_V4.replace("FLANNEL_SUBNET=10.244.1.1/24", "FLANNEL_SUBNET=10.244.1.1")).message).to.equal(
      `${FILE} line 2: invalid FLANNEL_SUBNET "10.244.1.1"`,
    );
  });

  it('refuses a known key without "=" (upstream\'s plugin panics there)', () => {
    const error = failure(`${FLANNELD_V4}FLANNEL_MTU\n`);
    expect(error.message).to.equal(`${FILE} line 5: FLANNEL_MTU has no "="`);
  });

  it("names every missing key, as upstream does", () => {
    const error = failure("foo=bar");
    expect(error.problem).to.equal("incomplete");
    expect(error.message).to.equal(
      `${FILE} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`,
    );
    expect(
      failure("FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPMASQ=true\n").message,
    ).to.equal(`${FILE} is missing FLANNEL_MTU`);
    expect(failure("").message).to.match(/is missing FLANNEL_NETWORK, /);
  });

  describe("loading the file", () => {
    let dir: string;
    beforeEach(() => {
      dir = scratchDir("subnet-env");
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it("reads it from disk", async () => {
      writeFileSync(join(dir, "subnet.env"), FLANNELD_DUAL);
      expect((await loadSubnetEnv(join(dir, "subnet.env"))).ipv6Subnet).to.equal("fd00:10:244:1::/64");
    });

    it("reports a missing file as Go does, and as missing", async () => {
      const path = join(dir, "subnet.env");
      const error = await loadSubnetEnv(path).then(
        () => expect.fail("loaded a missing file"),
        (e: unknown) => e as SubnetEnvError,
      );
      expect(error).to.be.instanceOf(SubnetEnvError);
      expect(error.problem).to.equal("missing");
      expect(error.message).to.equal(`open ${path}: no such file or directory`);
    });

    it("reports a directory in its place as unreadable", async () => {
      mkdirSync(join(dir, "subnet.env"));
      chmodSync(join(dir, "subnet.env"), 0o755);
      const error = await loadSubnetEnv(join(dir, "subnet.env")).then(
        () => expect.fail("loaded a directory"),
        (e: unknown) => e as SubnetEnvError,
      );
      expect(error.problem).to.equal("unreadable");
      expect(error.message).to.equal(`read ${join(dir, "subnet.env")}: is a directory`);
    });
  });
});

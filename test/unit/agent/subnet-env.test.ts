// subnet.env: upstream flannel's format, written atomically, read back for the subnet choice.

import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { formatSubnetEnv, readSubnetEnv, writeSubnetEnv } from "../../../agent/subnet-env";
import { SubnetEnvError } from "../../../plugins/flannel/subnet-env";

const DUAL_STACK = {
  network: "10.244.0.0/16",
  subnet: "10.244.7.0/24",
  ipv6Network: "fd00:10:244::/56",
  ipv6Subnet: "fd00:10:244:7::/64",
  mtu: 1430,
  ipMasq: false,
};

describe("agent: subnet.env", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tscni-subnet-env-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes upstream's lines in upstream's order, the subnet as its gateway", () => {
    expect(formatSubnetEnv({ network: "10.244.0.0/16", subnet: "10.244.1.0/24", mtu: 1450, ipMasq: true })).to.equal(
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
  });

  it("adds the IPv6 lines after the IPv4 ones when IPv6 is enabled", () => {
    expect(formatSubnetEnv(DUAL_STACK).split("\n")).to.deep.equal([
      "FLANNEL_NETWORK=10.244.0.0/16",
      "FLANNEL_SUBNET=10.244.7.1/24",
      "FLANNEL_IPV6_NETWORK=fd00:10:244::/56",
      "FLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64",
      "FLANNEL_MTU=1430",
      "FLANNEL_IPMASQ=false",
      "",
    ]);
  });

  it("writes an IPv6-only file without the IPv4 lines", () => {
    expect(
      formatSubnetEnv({ ipv6Network: "fd00::/56", ipv6Subnet: "fd00:0:0:1::/64", mtu: 1430, ipMasq: true }),
    ).to.equal(
      "FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n",
    );
  });

  it("reads its own file back, the subnets as networks, as the flannel plugin does", () => {
    const path = join(dir, "subnet.env");
    writeFileSync(path, formatSubnetEnv(DUAL_STACK));
    expect(readSubnetEnv(path)).to.deep.equal(DUAL_STACK);
  });

  it("reads a file written by flanneld (unknown keys, a network list, no final newline)", () => {
    const path = join(dir, "subnet.env");
    writeFileSync(
      path,
      "FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=8951\nOTHER=x\nFLANNEL_IPMASQ=false",
    );
    expect(readSubnetEnv(path)).to.deep.equal({
      network: "10.244.0.0/16",
      subnet: "10.244.3.0/24",
      mtu: 8951,
      ipMasq: false,
    });
  });

  it("writes atomically with mode 0644 into a 0755 directory it creates, and replaces the file", () => {
    const path = join(dir, "run", "flannel", "subnet.env");
    const previousUmask = process.umask(0o077);
    try {
      writeSubnetEnv(path, { network: "10.244.0.0/16", subnet: "10.244.1.0/24", mtu: 1450, ipMasq: true });
    } finally {
      process.umask(previousUmask);
    }
    expect(statSync(path).mode & 0o777).to.equal(0o644);
    expect(statSync(join(dir, "run", "flannel")).mode & 0o777).to.equal(0o755);
    writeSubnetEnv(path, { network: "10.244.0.0/16", subnet: "10.244.2.0/24", mtu: 1400, ipMasq: false });
    expect(readFileSync(path, "utf8")).to.contain("FLANNEL_SUBNET=10.244.2.1/24");
    expect(readdirSync(join(dir, "run", "flannel"))).to.deep.equal(["subnet.env"]);
    expect(readSubnetEnv(path)).to.include({ subnet: "10.244.2.0/24", mtu: 1400 });
  });

  it("reads a missing file as undefined", () => {
    expect(readSubnetEnv(join(dir, "none.env"))).to.equal(undefined);
    writeFileSync(join(dir, "bad.env"), "FLANNEL_SUBNET=nope\n");
    expect(() => readSubnetEnv(join(dir, "bad.env"))).to.throw(SubnetEnvError);
  });
});

// The bridge plugin's configuration: the reference's keys and defaults, and errors that name the key.

import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { CniError } from "../../../../cni/errors";
import type { NetConf } from "../../../../cni/plugin";
import { type BridgeConfig, parseBridgeConfig } from "../../../../plugins/bridge/config";

const netConf = (raw: Record<string, unknown>): NetConf => ({
  cniVersion: "1.0.0",
  name: "net",
  type: "bridge",
  raw: { cniVersion: "1.0.0", name: "net", type: "bridge", ...raw },
});

const parse = (raw: Record<string, unknown>, cniArgsMac?: string): BridgeConfig =>
  parseBridgeConfig(netConf(raw), cniArgsMac);

/** The CNI error a config produces (the test fails if it parses). */
function rejection(raw: Record<string, unknown>): CniError {
  try {
    parse(raw);
  } catch (error: unknown) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error("expected the config to be refused");
}

describe("bridge config", () => {
  const confDir = resolve(import.meta.dirname, "../../../../conf");
  for (const file of readdirSync(confDir).filter((f) => f.endsWith(".conflist"))) {
    const list = JSON.parse(readFileSync(join(confDir, file), "utf8")) as { name: string; plugins: { type: string }[] };
    for (const plugin of list.plugins.filter((p) => p.type === "bridge")) {
      it(`reads the bridge of conf/${file}`, () => {
        const config = parse({ ...plugin, name: list.name });
        expect(config.bridge).to.be.a("string");
      });
    }
  }

  it("applies the reference's defaults", () => {
    expect(parse({})).to.deep.equal({
      network: "net",
      bridge: "cni0",
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: false,
      ipMasqBackend: undefined,
      mtu: undefined,
      hairpinMode: false,
      promiscMode: false,
      vlan: 0,
      vlanTrunk: [],
      preserveDefaultVlan: true,
      macSpoofCheck: false,
      enableDad: false,
      disableContainerInterface: false,
      portIsolation: false,
      ipamType: undefined,
      dns: undefined,
      mac: undefined,
    });
  });

  it("reads every key", () => {
    const config = parse({
      bridge: "br-pods",
      isGateway: true,
      forceAddress: true,
      ipMasq: true,
      ipMasqBackend: "nftables",
      mtu: 1450,
      hairpinMode: true,
      vlan: 100,
      preserveDefaultVlan: false,
      macspoofchk: true,
      enabledad: true,
      portIsolation: true,
      ipam: { type: "host-local", subnet: "10.22.0.0/16" },
      dns: { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] },
      args: { cni: { mac: "0A:58:0A:16:00:05" } },
    });
    expect(config).to.include({
      bridge: "br-pods",
      isGateway: true,
      forceAddress: true,
      ipMasq: true,
      ipMasqBackend: "nftables",
      mtu: 1450,
      hairpinMode: true,
      vlan: 100,
      preserveDefaultVlan: false,
      macSpoofCheck: true,
      enableDad: true,
      portIsolation: true,
      ipamType: "host-local",
      mac: "0a:58:0a:16:00:05",
    });
    expect(config.dns).to.deep.equal({ nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] });
  });

  it("isDefaultGateway implies isGateway", () => {
    expect(parse({ isDefaultGateway: true })).to.include({ isGateway: true, isDefaultGateway: true });
  });

  it("is L2-only when ipam is empty, absent or has no type", () => {
    expect(parse({ ipam: {} }).ipamType).to.equal(undefined);
    expect(parse({ ipam: { type: "" } }).ipamType).to.equal(undefined);
    expect(parse({}).ipamType).to.equal(undefined);
  });

  it("takes the MAC from runtimeConfig over args.cni over CNI_ARGS, as the reference does", () => {
    expect(parse({}, "0a:00:00:00:00:01").mac).to.equal("0a:00:00:00:00:01");
    expect(parse({ args: { cni: { mac: "0a:00:00:00:00:02" } } }, "0a:00:00:00:00:01").mac).to.equal(
      "0a:00:00:00:00:02",
    );
    const all = { args: { cni: { mac: "0a:00:00:00:00:02" } }, runtimeConfig: { mac: "0a:00:00:00:00:03" } };
    expect(parse(all, "0a:00:00:00:00:01").mac).to.equal("0a:00:00:00:00:03");
  });

  it("collects vlanTrunk ids and ranges, sorted and without duplicates", () => {
    const config = parse({
      vlanTrunk: [{ id: 30 }, { minID: 10, maxID: 12 }, { id: 11 }, { minID: 5, maxID: 5, id: 7 }],
    });
    expect(config.vlanTrunk).to.deep.equal([5, 7, 10, 11, 12, 30]);
  });

  it("keeps a dns override only when one of its fields is set (an empty list counts)", () => {
    expect(parse({ dns: {} }).dns).to.equal(undefined);
    expect(parse({ dns: { nameservers: [] } }).dns).to.deep.equal({ nameservers: [] });
    expect(parse({ dns: { domain: "example.org" } }).dns).to.deep.equal({ domain: "example.org" });
  });

  describe("refusals (code 7, naming what is wrong)", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["hairpin with promiscuous mode", { hairpinMode: true, promiscMode: true }, /hairpin mode and promiscuous mode/],
      ["a VLAN above 4094", { vlan: 4095 }, /invalid VLAN ID 4095 \(must be between 0 and 4094\)/],
      ["a negative VLAN", { vlan: -1 }, /invalid VLAN ID -1/],
      ["a trunk id of 0", { vlanTrunk: [{ id: 0 }] }, /incorrect trunk id parameter/],
      ["a trunk minID above 4094", { vlanTrunk: [{ minID: 4095, maxID: 4095 }] }, /incorrect trunk minID parameter/],
      ["a trunk maxID of 0", { vlanTrunk: [{ minID: 1, maxID: 0 }] }, /incorrect trunk maxID parameter/],
      ["a reversed trunk range", { vlanTrunk: [{ minID: 9, maxID: 3 }] }, /minID is greater than maxID/],
      ["a trunk maxID alone", { vlanTrunk: [{ maxID: 3 }] }, /minID is missing/],
      ["a trunk minID alone", { vlanTrunk: [{ minID: 3 }] }, /maxID is missing/],
      [
        "IPAM with the container interface disabled",
        { disableContainerInterface: true, ipam: { type: "host-local" } },
        /cannot use IPAM/,
      ],
      ["an unknown masquerade backend", { ipMasqBackend: "pf" }, /unknown ipMasqBackend "pf"/],
      ["a bridge name longer than 15 bytes", { bridge: "a-very-long-bridge" }, /invalid bridge/],
      ["a bridge name with a slash", { bridge: "br/0" }, /invalid bridge/],
      [
        "a VLAN gateway name that cannot fit",
        { bridge: "bridge-0123456", vlan: 100, isGateway: true },
        /gateway interface/,
      ],
      ["a malformed MAC", { args: { cni: { mac: "0a:58:0a" } } }, /invalid MAC address "0a:58:0a"/],
      ["a multicast MAC", { runtimeConfig: { mac: "01:00:5e:00:00:01" } }, /invalid MAC address/],
      ["an MTU of the wrong type", { mtu: "1500" }, /mtu: expected an integer/],
      ["an MTU out of range", { mtu: 70000 }, /mtu: expected an integer from 0 to 65535/],
      ["an MTU below the kernel's least", { mtu: 67 }, /invalid mtu 67 0 for the kernel's default, else at least 68/],
      ["a boolean as a string", { portIsolation: "true" }, /portIsolation: expected a boolean/],
      ["a vlan of the wrong type", { vlan: "100" }, /vlan: expected an integer/],
      ["a trunk entry that is not an object", { vlanTrunk: [5] }, /vlanTrunk\[0\]: expected an object/],
    ];
    for (const [what, raw, message] of cases) {
      it(`refuses ${what}`, () => {
        const error = rejection(raw);
        expect(error.code).to.equal(7);
        expect(`${error.message} ${error.details}`).to.match(message);
      });
    }

    it("takes a bad MAC from CNI_ARGS as an environment error (code 4), as every CNI_ARGS problem", () => {
      expect(() => parse({}, "zz:00:00:00:00:00"))
        .to.throw(CniError, /invalid MAC address/)
        .with.property("code", 4);
    });
  });
});

// Underlay selection as flanneld does it, against links in a namespace.

import { expect } from "chai";

import { selectUnderlay, type UnderlayOptions } from "../../../agent/underlay";
import { useNetns } from "../native/fixture";

const options = (overrides: Partial<UnderlayOptions> = {}): UnderlayOptions => ({
  ifaces: [],
  ifaceRegexes: [],
  publicIp: undefined,
  publicIpv6: undefined,
  ipv4: true,
  ipv6: false,
  ...overrides,
});

describe("agent: underlay selection", () => {
  const host = useNetns("underlay");

  beforeEach(() => {
    for (const [name, address, mtu] of [
      ["eth0", "192.168.1.11/24", "1500"],
      ["eth1", "10.0.0.5/16", "9000"],
      ["ens3", "172.20.0.7/24", "1400"],
    ] as const) {
      host.ns.ip("link", "add", name, "mtu", mtu, "type", "veth", "peer", "name", `peer-${name}`);
      host.ns.ip("addr", "add", address, "dev", name);
      host.ns.ip("link", "set", name, "up");
    }
    host.ns.ip("addr", "add", "10.0.9.9/16", "dev", "eth1");
    host.ns.ip("route", "add", "default", "via", "10.0.0.1", "dev", "eth1");
  });

  it("defaults to the interface of the default route, with its first address and MTU", () => {
    const underlay = selectUnderlay(host.handle, options());
    expect(underlay).to.deep.include({
      name: "eth1",
      mtu: 9000,
      ipv4: { localAddress: "10.0.0.5", publicIp: "10.0.0.5" },
      ipv6: undefined,
      reason: "default route",
    });
    expect(underlay.prefixes[4]).to.deep.equal(["10.0.0.0/16", "10.0.0.0/16"]);
  });

  it("takes --iface by name or by address, the first that exists", () => {
    expect(selectUnderlay(host.handle, options({ ifaces: ["nope", "eth0"] }))).to.deep.include({
      name: "eth0",
      ipv4: { localAddress: "192.168.1.11", publicIp: "192.168.1.11" },
    });
    expect(selectUnderlay(host.handle, options({ ifaces: ["10.0.9.9"] }))).to.deep.include({
      name: "eth1",
      ipv4: { localAddress: "10.0.9.9", publicIp: "10.0.9.9" },
      reason: "--iface 10.0.9.9",
    });
    expect(() => selectUnderlay(host.handle, options({ ifaces: ["nope", "10.9.9.9"] }))).to.throw(
      "no interface matches --iface nope, 10.9.9.9",
    );
  });

  it("matches --iface-regex against addresses, then names", () => {
    expect(selectUnderlay(host.handle, options({ ifaceRegexes: ["^172\\.20\\."] }))).to.deep.include({
      name: "ens3",
      ipv4: { localAddress: "172.20.0.7", publicIp: "172.20.0.7" },
    });
    expect(selectUnderlay(host.handle, options({ ifaceRegexes: ["^en"] })).name).to.equal("ens3");
    expect(() => selectUnderlay(host.handle, options({ ifaceRegexes: ["^wl"] }))).to.throw(/--iface-regex \^wl/);
  });

  it("advertises --public-ip, on the interface that holds it when no --iface is given", () => {
    expect(selectUnderlay(host.handle, options({ publicIp: "192.168.1.11" }))).to.deep.include({
      name: "eth0",
      ipv4: { localAddress: "192.168.1.11", publicIp: "192.168.1.11" },
    });
    // A NAT's address: the default route's interface, advertising the given address.
    expect(selectUnderlay(host.handle, options({ publicIp: "203.0.113.7" }))).to.deep.include({
      name: "eth1",
      ipv4: { localAddress: "10.0.0.5", publicIp: "203.0.113.7" },
    });
  });

  it("fails clearly without an address of an enabled family or without a default route", () => {
    expect(() => selectUnderlay(host.handle, options({ ifaces: ["eth0"], ipv6: true }))).to.throw(
      "the underlay interface eth0 has no global IPv6 address",
    );
    host.ns.ip("route", "del", "default");
    expect(() => selectUnderlay(host.handle, options())).to.throw(/no IPv4 default route .* pass --iface/);
  });
});

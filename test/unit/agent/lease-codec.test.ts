// flannel's key and value formats, as the stores write and read them.

import { expect } from "chai";

import type { LeaseAttrs } from "../../../agent/lease";
import {
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  isSameNode,
  leaseKey,
  parseLeaseKey,
} from "../../../agent/store/lease-codec";
import { JsonShapeError } from "../../../cni/json";

const ATTRS: LeaseAttrs = {
  publicIp: "192.168.1.11",
  backendType: "vxlan",
  backendData: { vni: 1, vtepMac: "02:aa:aa:aa:aa:01" },
};

describe("lease codec (flannel's store formats)", () => {
  describe("keys", () => {
    it("names IPv4 and dual-stack subnets as flannel's MakeSubnetKey does, and parses them back", () => {
      expect(leaseKey({ subnet: "10.244.1.0/24" })).to.equal("10.244.1.0-24");
      const dual = { subnet: "10.244.1.0/24", ipv6Subnet: "fd00:10:244:1::/64" };
      expect(leaseKey(dual)).to.equal("10.244.1.0-24&fd00:10:244:1::-64");
      expect(parseLeaseKey("10.244.1.0-24&fd00:10:244:1::-64")).to.deep.equal(dual);
      expect(parseLeaseKey("10.244.1.0-24")).to.deep.equal({ subnet: "10.244.1.0/24" });
    });

    it("names an IPv6-only subnet by itself (an extension: flannel's etcd keys always carry IPv4)", () => {
      expect(leaseKey({ ipv6Subnet: "fd00:10:244:1::/64" })).to.equal("fd00:10:244:1::-64");
      expect(parseLeaseKey("fd00:10:244:1::-64")).to.deep.equal({ ipv6Subnet: "fd00:10:244:1::/64" });
    });

    it("refuses subnets with host bits, of the wrong family, or none at all", () => {
      expect(() => leaseKey({ subnet: "10.244.1.1/24" })).to.throw(RangeError);
      expect(() => leaseKey({ subnet: "fd00::/64" })).to.throw(RangeError);
      expect(() => leaseKey({ ipv6Subnet: "fd00:0:0:1::1/64" })).to.throw(RangeError, /network form/);
      expect(leaseKey({ ipv6Subnet: "FD00:0:0:1::/64" })).to.equal("fd00:0:0:1::-64");
      expect(() => leaseKey({})).to.throw(RangeError);
    });

    for (const key of [
      "config",
      "10.244.1.0",
      "10.244.1.1-24",
      "10.244.1.0-33",
      "10.244.01.0-24",
      "fd00:10:244:1::-64&10.244.1.0-24",
      "10.244.1.0-24&10.244.2.0-24",
      "10.244.1.0-24&fd00:10:244:1:0::-64",
      "10.244.1.0-24&fd00:10:244:1::-64&fd00::-64",
    ]) {
      it(`does not take ${JSON.stringify(key)} for a lease key`, () => {
        expect(parseLeaseKey(key)).to.equal(undefined);
      });
    }
  });

  describe("values", () => {
    it("writes flanneld's bytes: Go's field order, a null PublicIPv6, no empty backend data", () => {
      expect(JSON.stringify(encodeLeaseAttrs(ATTRS))).to.equal(
        '{"PublicIP":"192.168.1.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:aa:aa:aa:aa:01"}}',
      );
      const dual: LeaseAttrs = {
        ...ATTRS,
        publicIpv6: "fd00::11",
        backendV6Data: { vni: 1, vtepMac: "42:00:00:00:00:11" },
      };
      expect(JSON.stringify(encodeLeaseAttrs(dual))).to.equal(
        '{"PublicIP":"192.168.1.11","PublicIPv6":"fd00::11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:aa:aa:aa:aa:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"42:00:00:00:00:11"}}',
      );
    });

    it("reads flanneld's values back, canonical addresses and lower-case MACs", () => {
      expect(
        decodeLeaseAttrs(
          JSON.parse(
            '{"PublicIP":"192.168.1.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:AA:aa:aa:aa:01"}}',
          ),
        ),
      ).to.deep.equal(ATTRS);
      expect(
        decodeLeaseAttrs({
          ...encodeLeaseAttrs(ATTRS),
          PublicIPv6: "FD00:0::11",
          BackendV6Data: { VNI: 2, VtepMAC: "42:00:00:00:00:11" },
        }),
      ).to.deep.equal({ ...ATTRS, publicIpv6: "fd00::11", backendV6Data: { vni: 2, vtepMac: "42:00:00:00:00:11" } });
    });

    const bad: readonly [string, unknown, string][] = [
      ["another backend's lease", { PublicIP: "192.168.1.1", BackendType: "host-gw" }, "BackendType"],
      ["a lease without PublicIP", { BackendType: "vxlan" }, "PublicIP"],
      ["an IPv6 PublicIP", { PublicIP: "fd00::1", BackendType: "vxlan" }, "PublicIP"],
      [
        "a VNI given as text",
        { PublicIP: "192.168.1.1", BackendType: "vxlan", BackendData: { VNI: "1", VtepMAC: "02:00:00:00:00:01" } },
        "BackendData.VNI",
      ],
      [
        "a malformed VtepMAC",
        { PublicIP: "192.168.1.1", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:00:00:00:01" } },
        "BackendData.VtepMAC",
      ],
    ];
    for (const [what, json, path] of bad) {
      it(`refuses ${what}, naming ${path}`, () => {
        expect(() => decodeLeaseAttrs(json))
          .to.throw(JsonShapeError)
          .with.property("path", path);
      });
    }
  });

  it("identifies a node by its PublicIP, or by its PublicIPv6 when it has no IPv4 (0.0.0.0)", () => {
    expect(isSameNode(ATTRS, { ...ATTRS, backendData: { vni: 1, vtepMac: "02:00:00:00:00:09" } })).to.equal(true);
    expect(isSameNode(ATTRS, { ...ATTRS, publicIp: "192.168.1.12" })).to.equal(false);
    const v6 = (ip: string): LeaseAttrs => ({ publicIp: "0.0.0.0", publicIpv6: ip, backendType: "vxlan" });
    expect(isSameNode(v6("fd00::1"), v6("fd00::1"))).to.equal(true);
    expect(isSameNode(v6("fd00::1"), v6("fd00::2"))).to.equal(false);
  });
});

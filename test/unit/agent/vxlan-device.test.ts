// The VXLAN device a network config asks for: name, VNI, port, flags, MTU, VTEP MAC.

import { expect } from "chai";

import { deviceName, vtepMac, vxlanDeviceSpec } from "../../../agent/datapath/vxlan-device";
import { networkConfig } from "../../helpers/agent-fixtures";

const underlay = { index: 2, mtu: 1500, localAddress: "192.168.1.11", publicIp: "192.168.1.11" };
const underlay6 = { index: 2, mtu: 1500, localAddress: "fd00:1::11", publicIp: "fd00:1::11" };

describe("agent datapath: VXLAN device spec", () => {
  it("follows flannel's defaults: flannel.1, port 8472, no learning, no GBP, underlay MTU - 50", () => {
    expect(vxlanDeviceSpec(networkConfig(), 4, underlay)).to.deep.equal({
      family: 4,
      name: "flannel.1",
      vni: 1,
      port: 8472,
      learning: false,
      gbp: false,
      mtu: 1450,
      mac: vtepMac(4, 1, "192.168.1.11"),
      local: "192.168.1.11",
      underlayIndex: 2,
    });
  });

  it("takes the backend's VNI, port, GBP and learning, and Backend.MTU as the underlay's MTU (flannel)", () => {
    const spec = vxlanDeviceSpec(
      networkConfig({ backend: { vni: 42, port: 4789, gbp: true, learning: true, mtu: 1380 } }),
      4,
      underlay,
    );
    expect(spec).to.include({ name: "flannel.42", vni: 42, port: 4789, gbp: true, learning: true, mtu: 1330 });
    const spec6 = vxlanDeviceSpec(
      networkConfig({ enableIPv6: true, ipv6Network: "fd00:10:244::/56", backend: { mtu: 1380 } }),
      6,
      underlay6,
    );
    expect(spec6.mtu).to.equal(1310);
  });

  it("leaves 70 bytes for IPv6 encapsulation on flannel-v6.<VNI>", () => {
    const spec = vxlanDeviceSpec(networkConfig({ enableIPv6: true, ipv6Network: "fd00:10:244::/56" }), 6, underlay6);
    expect(spec).to.include({ name: "flannel-v6.1", mtu: 1430, local: "fd00:1::11" });
    expect(vxlanDeviceSpec(networkConfig(), 4, { ...underlay, mtu: 9000 }).mtu).to.equal(8950);
  });

  it("refuses an MTU below the family's minimum", () => {
    expect(() => vxlanDeviceSpec(networkConfig(), 6, { ...underlay6, mtu: 1300 })).to.throw(RangeError, /1230/);
  });

  it("derives a stable, locally administered unicast VTEP MAC per node, family and VNI", () => {
    const mac = vtepMac(4, 1, "192.168.1.11");
    expect(mac).to.match(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(Number.parseInt(mac.slice(0, 2), 16) & 0x03).to.equal(0x02);
    expect(vtepMac(4, 1, "192.168.1.11")).to.equal(mac);
    const others = [vtepMac(4, 1, "192.168.1.12"), vtepMac(4, 2, "192.168.1.11"), vtepMac(6, 1, "192.168.1.11")];
    expect(new Set([mac, ...others]).size).to.equal(4);
    // The MAC is part of what peers hold: it must not change between releases either.
    expect(mac).to.equal(vtepMac(4, 1, "192.168.1.11"));
  });

  it("keeps device names within the kernel's 15 characters", () => {
    expect(deviceName(4, 9_999_999)).to.equal("flannel.9999999");
    expect(() => deviceName(4, 16_777_215)).to.throw(RangeError, /longer than 15/);
    expect(() => deviceName(6, 10_000)).to.throw(RangeError, /flannel-v6.10000/);
  });
});

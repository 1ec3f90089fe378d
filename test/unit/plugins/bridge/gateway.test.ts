// The gateway plan of an L3 bridge network, as the reference's calcGateways, and trunk ranges.

import { expect } from "chai";

import type { NetConf } from "../../../../cni/plugin";
import type { Result } from "../../../../cni/result";
import { parseBridgeConfig } from "../../../../plugins/bridge/config";
import { planGateways } from "../../../../plugins/bridge/gateway";
import { trunkRanges } from "../../../../plugins/bridge/vlan";

const config = (raw: Record<string, unknown>) =>
  parseBridgeConfig({ cniVersion: "1.0.0", name: "net", type: "bridge", raw } satisfies NetConf);

const ipam = (partial: Partial<Result>): Result => ({ interfaces: [], ips: [], routes: [], dns: {}, ...partial });

describe("bridge gateway plan", () => {
  it("points every IP at the container interface and keeps IPAM's gateway", () => {
    const plan = planGateways(
      ipam({ ips: [{ address: "10.22.0.5/24", gateway: "10.22.0.254" }], routes: [{ dst: "10.0.0.0/8" }] }),
      config({ isGateway: true }),
    );
    expect(plan.ips).to.deep.equal([{ address: "10.22.0.5/24", gateway: "10.22.0.254", interface: 2 }]);
    expect(plan.routes).to.deep.equal([{ dst: "10.0.0.0/8" }]);
    expect([...plan.gateways]).to.deep.equal([[4, ["10.22.0.254/24"]]]);
  });

  it("with isGateway and no IPAM gateway, uses the subnet's first address, per family", () => {
    const plan = planGateways(
      ipam({ ips: [{ address: "10.22.0.5/24" }, { address: "fd00:10::5/64" }] }),
      config({ isGateway: true }),
    );
    expect(plan.ips.map((ip) => ip.gateway)).to.deep.equal(["10.22.0.1", "fd00:10::1"]);
    expect([...plan.gateways]).to.deep.equal([
      [4, ["10.22.0.1/24"]],
      [6, ["fd00:10::1/64"]],
    ]);
  });

  it("without isGateway, neither invents a gateway nor plans bridge addresses", () => {
    const plan = planGateways(ipam({ ips: [{ address: "10.22.0.5/24" }] }), config({}));
    expect(plan.ips).to.deep.equal([{ address: "10.22.0.5/24", interface: 2 }]);
    expect(plan.gateways.size).to.equal(0);
  });

  it("isDefaultGateway adds one default route per family through its gateway", () => {
    const plan = planGateways(
      ipam({ ips: [{ address: "10.22.0.5/24" }, { address: "10.23.0.5/24" }, { address: "fd00::5/64" }] }),
      config({ isDefaultGateway: true }),
    );
    expect(plan.routes).to.deep.equal([
      { dst: "0.0.0.0/0", gw: "10.22.0.1" },
      { dst: "::/0", gw: "fd00::1" },
    ]);
  });

  it("isDefaultGateway leaves a family alone when IPAM returned a default route with a gateway", () => {
    const routes = [{ dst: "0.0.0.0/0", gw: "10.22.0.254" }];
    const plan = planGateways(ipam({ ips: [{ address: "10.22.0.5/24" }], routes }), config({ isDefaultGateway: true }));
    expect(plan.routes).to.deep.equal(routes);
  });

  it("isDefaultGateway still adds its route when IPAM's default route has no gateway (as the reference)", () => {
    const plan = planGateways(
      ipam({ ips: [{ address: "10.22.0.5/24" }], routes: [{ dst: "0.0.0.0/0" }] }),
      config({ isDefaultGateway: true }),
    );
    expect(plan.routes).to.deep.equal([{ dst: "0.0.0.0/0" }, { dst: "0.0.0.0/0", gw: "10.22.0.1" }]);
  });
});

describe("bridge trunk ranges", () => {
  it("turns sorted ids into ranges", () => {
    expect(trunkRanges([])).to.deep.equal([]);
    expect(trunkRanges([5])).to.deep.equal([{ vid: 5 }]);
    expect(trunkRanges([1, 2, 3, 7, 9, 10])).to.deep.equal([{ vid: 1, vidEnd: 3 }, { vid: 7 }, { vid: 9, vidEnd: 10 }]);
  });
});

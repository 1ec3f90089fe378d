// The node agent's overlay rules inside a test namespace: flannel's layout in both backends and
// both families, convergence on changes, and cleanup of what flanneld itself left behind.

import { expect } from "chai";

import { TestNetns } from "../../helpers/netns";
import type { OverlayRulesConfig } from "../../../firewall/overlay-rules";
import {
  firewall,
  firewallOk,
  iptablesChains,
  iptablesRestore,
  iptablesRules,
  nftApplyIn,
  nftRuleset,
} from "./support";

const CONFIG: OverlayRulesConfig = {
  backend: "iptables",
  ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.244.1.0/24" },
  ipv6: { clusterNetwork: "fd10::/56", nodeSubnet: "fd10:0:0:1::/64" },
  masquerade: true,
  forward: true,
  randomFully: true,
};
const MASQ = '-m comment --comment "flanneld masq"';
const FWD = '-m comment --comment "flanneld forward"';
const ensure = (config: OverlayRulesConfig) => ({ op: "ensureOverlay", config }) as const;

const expectedNat = (cluster: string, node: string, multicast: string) => [
  `-A POSTROUTING ${MASQ} -j FLANNEL-POSTRTG`,
  `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${MASQ} -j RETURN`,
  `-A FLANNEL-POSTRTG -s ${node} -d ${cluster} ${MASQ} -j RETURN`,
  `-A FLANNEL-POSTRTG -s ${cluster} -d ${node} ${MASQ} -j RETURN`,
  `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${node} ${MASQ} -j RETURN`,
  `-A FLANNEL-POSTRTG -s ${cluster} ! -d ${multicast} ${MASQ} -j MASQUERADE --random-fully`,
  `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${cluster} ${MASQ} -j MASQUERADE --random-fully`,
];
const expectedFilter = (cluster: string) => [
  `-A FORWARD ${FWD} -j FLANNEL-FWD`,
  `-A FLANNEL-FWD -s ${cluster} ${FWD} -j ACCEPT`,
  `-A FLANNEL-FWD -d ${cluster} ${FWD} -j ACCEPT`,
];

describe("firewall: overlay rules", function () {
  this.timeout(30_000);
  let ns: TestNetns;
  beforeEach(() => {
    ns = TestNetns.create("fw-overlay", { loUp: true });
  });
  afterEach(() => ns.delete());

  const flannelTables = () => nftRuleset(ns).tables.filter((table) => table.includes("flannel"));

  it("iptables: installs flannel's chains in both families, idempotently", () => {
    firewallOk(ns, [ensure(CONFIG), ensure(CONFIG)]);
    expect(iptablesRules(ns, 4, "nat")).to.deep.equal(expectedNat("10.244.0.0/16", "10.244.1.0/24", "224.0.0.0/4"));
    expect(iptablesRules(ns, 4, "filter")).to.deep.equal(expectedFilter("10.244.0.0/16"));
    expect(iptablesRules(ns, 6, "nat")).to.deep.equal(expectedNat("fd10::/56", "fd10:0:0:1::/64", "ff00::/8"));
    expect(iptablesRules(ns, 6, "filter")).to.deep.equal(expectedFilter("fd10::/56"));
    expect(flannelTables()).to.deep.equal([]);
  });

  it("iptables: converges on a new subnet, on switched-off parts and on a dropped family", () => {
    firewallOk(ns, [ensure(CONFIG)]);
    const moved = { ...CONFIG, ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.244.7.0/24" } };
    firewallOk(ns, [ensure(moved)]);
    expect(iptablesRules(ns, 4, "nat")).to.deep.equal(expectedNat("10.244.0.0/16", "10.244.7.0/24", "224.0.0.0/4"));
    const { ipv6: _dropped, ...ipv4Only } = { ...moved, masquerade: false, randomFully: false };
    firewallOk(ns, [ensure(ipv4Only)]);
    expect(iptablesRules(ns, 4, "nat")).to.deep.equal([]);
    expect(iptablesChains(ns, 4, "nat")).to.deep.equal([]);
    expect(iptablesRules(ns, 4, "filter")).to.deep.equal(expectedFilter("10.244.0.0/16"));
    expect(iptablesRules(ns, 6, "nat")).to.deep.equal([]);
    expect(iptablesRules(ns, 6, "filter")).to.deep.equal([]);
  });

  it("nftables: installs flannel's tables in both families, idempotently, and removes iptables rules", () => {
    firewallOk(ns, [
      ensure(CONFIG),
      ensure({ ...CONFIG, backend: "nftables" }),
      ensure({ ...CONFIG, backend: "nftables" }),
    ]);
    expect(iptablesRules(ns, 4, "nat")).to.deep.equal([]);
    expect(iptablesRules(ns, 6, "filter")).to.deep.equal([]);
    const rules = nftRuleset(ns).rules.filter((rule) => rule.table === "ip flannel-ipv4");
    expect(rules.map((rule) => `${rule.chain}: ${rule.text}`)).to.deep.equal([
      'postrtg: {"&":[{"meta":{"key":"mark"}},16384]} == 16384 return',
      "postrtg: ip saddr == 10.244.1.0/24 ip daddr == 10.244.0.0/16 return",
      "postrtg: ip saddr == 10.244.0.0/16 ip daddr == 10.244.1.0/24 return",
      "postrtg: ip saddr != 10.244.0.0/16 ip daddr == 10.244.1.0/24 return",
      "postrtg: ip saddr == 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
      "postrtg: ip saddr != 10.244.0.0/16 ip daddr == 10.244.0.0/16 masquerade fully-random",
      "forward: ip saddr == 10.244.0.0/16 accept",
      "forward: ip daddr == 10.244.0.0/16 accept",
    ]);
    const v6 = nftRuleset(ns).rules.filter((rule) => rule.table === "ip6 flannel-ipv6");
    expect(v6).to.have.length(8);
    expect(v6[4]?.text).to.equal("ip6 saddr == fd10::/56 ip6 daddr != ff00::/8 masquerade fully-random");

    firewallOk(ns, [ensure(CONFIG)]);
    expect(flannelTables()).to.deep.equal([]);
    expect(iptablesRules(ns, 4, "nat")).to.have.length(7);
  });

  it("removes what flanneld left in either backend, and succeeds when nothing is there", () => {
    // flanneld's own rules (pkg/trafficmngr), as its go-iptables calls and knftables transactions write them.
    iptablesRestore(
      ns,
      4,
      `*nat\n:FLANNEL-POSTRTG - [0:0]\n-A POSTROUTING ${MASQ} -j FLANNEL-POSTRTG\n-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 ${MASQ} -j MASQUERADE --random-fully\nCOMMIT\n*filter\n:FLANNEL-FWD - [0:0]\n-A FORWARD ${FWD} -j FLANNEL-FWD\n-A FLANNEL-FWD -s 10.244.0.0/16 ${FWD} -j ACCEPT\nCOMMIT\n`,
    );
    nftApplyIn(
      ns,
      [
        'add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }',
        'add table ip6 flannel-ipv6 { comment "rules for flannel-ipv6" ; }',
        "add chain ip flannel-ipv4 postrtg { type nat hook postrouting priority 100 ; }",
        "add rule ip flannel-ipv4 postrtg meta mark 0x4000 return",
        "",
      ].join("\n"),
    );
    firewallOk(ns, [{ op: "removeOverlay" }, { op: "removeOverlay" }]);
    for (const family of [4, 6] as const) {
      expect(iptablesRules(ns, family, "nat")).to.deep.equal([]);
      expect(iptablesRules(ns, family, "filter")).to.deep.equal([]);
      expect(iptablesChains(ns, family, "filter")).to.deep.equal([]);
    }
    expect(flannelTables()).to.deep.equal([]);
  });

  it("rejects an invalid config before touching anything, naming the key", () => {
    const outcome = firewall(ns, [
      ensure({ ...CONFIG, ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.99.0.0/24" } }),
    ]);
    expect(outcome.status).to.equal(1);
    expect(outcome.results.at(-1)?.error?.message).to.match(/^ipv4\.nodeSubnet: 10\.99\.0\.0\/24 is not inside/);
    expect(iptablesRules(ns, 4, "nat")).to.deep.equal([]);
    expect(nftRuleset(ns).tables).to.deep.equal([]);
  });
});

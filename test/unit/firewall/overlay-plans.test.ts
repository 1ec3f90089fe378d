// The node agent's overlay rules: config validation and the rules each backend writes.

import { expect } from "chai";

import { EMPTY_TABLE, parseIptablesSave } from "../../../firewall/iptables-text";
import { FORWARD_CHAIN, MASQ_CHAIN, masqueradeRules, planChain } from "../../../firewall/overlay-iptables";
import { planNftablesOverlay } from "../../../firewall/overlay-nftables";
import { type OverlayRulesConfig, planOverlay } from "../../../firewall/overlay-rules";

const CONFIG: OverlayRulesConfig = {
  backend: "iptables",
  ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.244.1.1/24" },
  ipv6: { clusterNetwork: "fd10::/56", nodeSubnet: "fd10:0:0:1::/64" },
  masquerade: true,
  forward: true,
  randomFully: true,
};
const { ipv6: _unused, ...IPV4_ONLY } = CONFIG;

describe("firewall: overlay rules config", () => {
  it("puts the networks in canonical form, per family", () => {
    const plan = planOverlay(CONFIG);
    expect(plan[4]).to.deep.include({ family: 4, clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.244.1.0/24" });
    expect(plan[6]).to.deep.include({ family: 6, clusterNetwork: "fd10::/56", nodeSubnet: "fd10:0:0:1::/64" });
    expect(planOverlay(IPV4_ONLY)[6]).to.equal(undefined);
  });

  it("names the key of an invalid network", () => {
    const bad = (patch: Partial<OverlayRulesConfig>) => () => planOverlay({ ...CONFIG, ...patch });
    expect(bad({ ipv4: { clusterNetwork: "10.244.0.0", nodeSubnet: "10.244.1.0/24" } })).to.throw(
      RangeError,
      /^ipv4\.clusterNetwork: invalid CIDR/,
    );
    expect(bad({ ipv4: { clusterNetwork: "fd10::/56", nodeSubnet: "10.244.1.0/24" } })).to.throw(
      RangeError,
      /^ipv4\.clusterNetwork: fd10::\/56 is not an IPv4 network/,
    );
    expect(bad({ ipv6: { clusterNetwork: "fd10::/56", nodeSubnet: "fd11::/64" } })).to.throw(
      RangeError,
      /^ipv6\.nodeSubnet: fd11::\/64 is not inside ipv6\.clusterNetwork fd10::\/56/,
    );
    expect(bad({ ipv4: { clusterNetwork: "10.244.0.0/16", nodeSubnet: "10.0.0.0/8" } })).to.throw(
      RangeError,
      /not inside/,
    );
  });
});

describe("firewall: overlay rules, iptables", () => {
  const v4 = () => planOverlay(CONFIG)[4]!;

  it("writes flanneld's FLANNEL-POSTRTG rules, with --random-fully only when asked", () => {
    const lines = planChain(EMPTY_TABLE, MASQ_CHAIN, masqueradeRules(v4()))?.split("\n");
    expect(lines).to.deep.equal([
      "*nat",
      ":FLANNEL-POSTRTG - [0:0]",
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      "COMMIT",
      "",
    ]);
    const plain = masqueradeRules({ ...v4(), randomFully: false });
    expect(plain.flat()).to.not.include("--random-fully");
  });

  it("writes nothing when the chain and its jump are as wanted", () => {
    const script = planChain(EMPTY_TABLE, MASQ_CHAIN, masqueradeRules(v4())) ?? "";
    const inPlace = parseIptablesSave(
      script.replace(":FLANNEL-POSTRTG", ":POSTROUTING ACCEPT [0:0]\n:FLANNEL-POSTRTG"),
    );
    expect(planChain(inPlace.get("nat") ?? EMPTY_TABLE, MASQ_CHAIN, masqueradeRules(v4()))).to.equal(undefined);
    const changed = masqueradeRules({ ...v4(), nodeSubnet: "10.244.9.0/24" });
    expect(planChain(inPlace.get("nat") ?? EMPTY_TABLE, MASQ_CHAIN, changed)).to.include("10.244.9.0/24");
  });

  it("appends the jump only when it is missing and deletes duplicates", () => {
    const jump = '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD';
    const state = (jumps: number) =>
      parseIptablesSave(`*filter\n:FORWARD DROP [0:0]\n:FLANNEL-FWD - [0:0]\n${`${jump}\n`.repeat(jumps)}COMMIT\n`).get(
        "filter",
      ) ?? EMPTY_TABLE;
    const rules = [["-s", "10.244.0.0/16", "-j", "ACCEPT"]];
    const jumpLines = (jumps: number) =>
      (planChain(state(jumps), FORWARD_CHAIN, rules) ?? "").split("\n").filter((l) => l.includes("-j FLANNEL-FWD"));
    expect(jumpLines(0)).to.deep.equal([jump]);
    expect(jumpLines(1)).to.deep.equal([]);
    expect(jumpLines(3)).to.deep.equal([jump.replace("-A", "-D"), jump.replace("-A", "-D")]);
  });

  it("removes a chain that is switched off, and nothing when it is not there", () => {
    const state =
      parseIptablesSave(
        '*nat\n:POSTROUTING ACCEPT [0:0]\n:FLANNEL-POSTRTG - [0:0]\n-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\nCOMMIT\n',
      ).get("nat") ?? EMPTY_TABLE;
    expect(planChain(state, MASQ_CHAIN, undefined)?.split("\n")).to.deep.equal([
      "*nat",
      ":FLANNEL-POSTRTG - [0:0]",
      '-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      "-X FLANNEL-POSTRTG",
      "COMMIT",
      "",
    ]);
    expect(planChain(EMPTY_TABLE, MASQ_CHAIN, undefined)).to.equal(undefined);
  });
});

describe("firewall: overlay rules, nftables", () => {
  it("writes flannel's tables with the kube-proxy mark as a bit and the corrected external rule", () => {
    const script = planNftablesOverlay(planOverlay({ ...IPV4_ONLY, backend: "nftables" }));
    expect(script.split("\n")).to.deep.equal([
      'add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }',
      'add chain ip flannel-ipv4 postrtg { type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ; }',
      "flush chain ip flannel-ipv4 postrtg",
      "add rule ip flannel-ipv4 postrtg meta mark & 0x4000 == 0x4000 return",
      "add rule ip flannel-ipv4 postrtg ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return",
      "add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return",
      "add rule ip flannel-ipv4 postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return",
      "add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
      "add rule ip flannel-ipv4 postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random",
      'add chain ip flannel-ipv4 forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }',
      "flush chain ip flannel-ipv4 forward",
      "add rule ip flannel-ipv4 forward ip saddr 10.244.0.0/16 accept",
      "add rule ip flannel-ipv4 forward ip daddr 10.244.0.0/16 accept",
      "add table ip6 flannel-ipv6",
      "delete table ip6 flannel-ipv6",
      "",
    ]);
  });

  it("deletes a chain that is switched off, whether or not it exists", () => {
    const script = planNftablesOverlay(planOverlay({ ...CONFIG, masquerade: false, randomFully: false }));
    expect(script).to.include(
      "add chain ip6 flannel-ipv6 postrtg\nflush chain ip6 flannel-ipv6 postrtg\ndelete chain ip6 flannel-ipv6 postrtg\n",
    );
    expect(script).to.include("add rule ip6 flannel-ipv6 forward ip6 saddr fd10::/56 accept");
    expect(script).to.not.include("masquerade");
  });
});

// What the masquerade backends write, planned from a table's current state (no tools run).

import { expect } from "chai";

import { parseInterfaceAddress } from "../../../firewall/addresses";
import {
  masqueradeChainsOf,
  planFreshSetup,
  planKnownTeardown,
  planSetup as planIptables,
} from "../../../firewall/iptables-masquerade";
import { EMPTY_TABLE, parseIptablesSave } from "../../../firewall/iptables-text";
import { nftRulesOf } from "../../../firewall/nft-text";
import { planSetup as planNftables } from "../../../firewall/nftables-masquerade";
import { REFERENCE_NAT, REFERENCE_NFT_LISTING } from "./support/fixtures";

const CHAIN = "CNI-a631aa8e1549a3b129110fd2";
const COMMENT = '-m comment --comment "name: \\"mynet\\" id: \\"cid1\\""';
const unit = { network: "mynet", containerId: "cid1" };
const referenceNat = () => parseIptablesSave(REFERENCE_NAT).get("nat") ?? EMPTY_TABLE;

describe("firewall: iptables masquerade plan", () => {
  const V4_RULES = [
    `-A ${CHAIN} -d 10.22.0.0/24 ${COMMENT} -j ACCEPT`,
    `-A ${CHAIN} ! -d 224.0.0.0/4 ${COMMENT} -j MASQUERADE`,
    `-A POSTROUTING -s 10.22.0.5/32 ${COMMENT} -j ${CHAIN}`,
  ];
  const script = (...lines: string[]) => ["*nat", ...lines, "COMMIT", ""].join("\n");

  it("writes the reference's rules into a fresh table in one transaction", () => {
    expect(planIptables(EMPTY_TABLE, unit, [parseInterfaceAddress("10.22.0.5/24")])).to.equal(
      script(`:${CHAIN} - [0:0]`, ...V4_RULES),
    );
  });

  it("creates a new container's chain with -N, so that the blind write fails if the chain exists", () => {
    expect(planFreshSetup(unit, [parseInterfaceAddress("10.22.0.5/24")])).to.equal(script(`-N ${CHAIN}`, ...V4_RULES));
  });

  it("tears down known addresses by the exact jumps setup wrote, then the chain", () => {
    expect(planKnownTeardown(unit, ["10.22.0.5/32", "10.22.0.5/32"])).to.equal(
      script(`:${CHAIN} - [0:0]`, `-D POSTROUTING -s 10.22.0.5/32 ${COMMENT} -j ${CHAIN}`, `-X ${CHAIN}`),
    );
  });

  it("uses ff00::/8 and a /128 source for IPv6", () => {
    const v6 = planIptables(EMPTY_TABLE, unit, [parseInterfaceAddress("fd00:0:0::5/64")]);
    expect(v6).to.include(`-A ${CHAIN} -d fd00::/64 ${COMMENT} -j ACCEPT`);
    expect(v6).to.include(`-A ${CHAIN} ! -d ff00::/8 ${COMMENT} -j MASQUERADE`);
    expect(v6).to.include(`-A POSTROUTING -s fd00::5/128 ${COMMENT} -j ${CHAIN}`);
  });

  it("adds no second jump when the reference's rules are there, and keeps every ACCEPT before MASQUERADE", () => {
    const script = planIptables(referenceNat(), unit, [
      parseInterfaceAddress("10.22.0.2/24"),
      parseInterfaceAddress("10.23.0.9/16"),
    ]);
    expect(script.split("\n").filter((line) => line.startsWith("-A"))).to.deep.equal([
      `-A ${CHAIN} -d 10.22.0.0/24 ${COMMENT} -j ACCEPT`,
      `-A ${CHAIN} -d 10.23.0.0/16 ${COMMENT} -j ACCEPT`,
      `-A ${CHAIN} ! -d 224.0.0.0/4 ${COMMENT} -j MASQUERADE`,
      `-A POSTROUTING -s 10.23.0.9/32 ${COMMENT} -j ${CHAIN}`,
    ]);
  });

  it("maps chains back to containers through their comments, only for the masquerade chain shape", () => {
    const portmap = `*nat
:CNI-DN-a631aa8e1549a3b129110 - [0:0]
-A CNI-DN-a631aa8e1549a3b129110 -p tcp -m comment --comment "name: \\"mynet\\" id: \\"cid1\\"" -j DNAT --to-destination 10.22.0.2:80
:CNI-000000000000000000000000 - [0:0]
-A CNI-000000000000000000000000 -m comment --comment "name: \\"mynet\\" id: \\"forged\\"" -j MASQUERADE
COMMIT
`;
    const state = referenceNat();
    expect([...masqueradeChainsOf(state, "mynet")]).to.deep.equal([[CHAIN, "cid1"]]);
    expect([...masqueradeChainsOf(state, "othernet")]).to.deep.equal([]);
    const others = parseIptablesSave(portmap).get("nat") ?? EMPTY_TABLE;
    expect([...masqueradeChainsOf(others, "mynet")]).to.deep.equal([]);
  });
});

describe("firewall: nftables masquerade plan", () => {
  const attachment = { network: "mynet", ifName: "eth0", containerId: "cid1" };
  const comment = '"d23676b4f2d9fe04-0b65a318f52e521b, net: mynet, if: eth0, id: cid1"';

  it("writes the reference's table, chains and one rule per address", () => {
    const script = planNftables([], attachment, [
      parseInterfaceAddress("10.22.0.5/24"),
      parseInterfaceAddress("fd00::5/64"),
    ]);
    expect(script.split("\n")).to.deep.equal([
      'add table inet cni_plugins_masquerade { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }',
      'add chain inet cni_plugins_masquerade masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }',
      "add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority srcnat ; }",
      "flush chain inet cni_plugins_masquerade postrouting",
      "add rule inet cni_plugins_masquerade postrouting ip daddr 224.0.0.0/4 return",
      "add rule inet cni_plugins_masquerade postrouting ip6 daddr ff00::/8 return",
      "add rule inet cni_plugins_masquerade postrouting goto masq_checks",
      `add rule inet cni_plugins_masquerade masq_checks ip saddr 10.22.0.5 ip daddr != 10.22.0.0/24 masquerade comment ${comment}`,
      `add rule inet cni_plugins_masquerade masq_checks ip6 saddr fd00::5 ip6 daddr != fd00::/64 masquerade comment ${comment}`,
      "",
    ]);
  });

  it("replaces the attachment's existing rules and leaves other attachments' alone", () => {
    const existing = nftRulesOf(REFERENCE_NFT_LISTING).filter((rule) => rule.chain === "masq_checks");
    const deletes = (script: string) => script.split("\n").filter((line) => line.startsWith("delete"));
    expect(deletes(planNftables(existing, attachment, [parseInterfaceAddress("10.22.0.5/24")]))).to.deep.equal([
      "delete rule inet cni_plugins_masquerade masq_checks handle 6",
      "delete rule inet cni_plugins_masquerade masq_checks handle 7",
    ]);
    const other = { ...attachment, ifName: "net1" };
    expect(deletes(planNftables(existing, other, [parseInterfaceAddress("10.22.0.5/24")]))).to.deep.equal([]);
  });
});

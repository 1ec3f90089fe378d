// Container masquerade (the bridge's ipMasq) run inside a test namespace, in both backends and
// both families, checked with iptables-save / nft -j in that namespace.

import { createHash } from "node:crypto";

import { expect } from "chai";

import { TestNetns } from "../../helpers/netns";
import type { Operation } from "./entry";
import {
  firewall,
  firewallOk,
  iptablesChains,
  iptablesRestore,
  iptablesRules,
  nftApplyIn,
  nftRuleset,
  toolDirectory,
} from "./support";

const NET = "mynet";
const CHAIN_A = "CNI-a631aa8e1549a3b129110fd2"; // sha512("mynet" + "cid1"), as the reference bridge names it
const A = { network: NET, containerId: "cid1", ifName: "eth0", ips: ["10.22.0.5/24", "fd00:22::5/64"] };
const COMMENT_A = '-m comment --comment "name: \\"mynet\\" id: \\"cid1\\""';
const setup = (target: typeof A, backend?: "iptables" | "nftables"): Operation => ({
  op: "setup",
  target,
  ...(backend !== undefined ? { backend } : {}),
});
const teardown = (target: typeof A): Operation => ({ op: "teardown", target });
const withoutIps = (target: typeof A) => ({ ...target, ips: [] });

const EXPECTED_IPTABLES: Record<4 | 6, string[]> = {
  4: [
    `-A POSTROUTING -s 10.22.0.5/32 ${COMMENT_A} -j ${CHAIN_A}`,
    `-A ${CHAIN_A} -d 10.22.0.0/24 ${COMMENT_A} -j ACCEPT`,
    `-A ${CHAIN_A} ! -d 224.0.0.0/4 ${COMMENT_A} -j MASQUERADE`,
  ],
  6: [
    `-A POSTROUTING -s fd00:22::5/128 ${COMMENT_A} -j ${CHAIN_A}`,
    `-A ${CHAIN_A} -d fd00:22::/64 ${COMMENT_A} -j ACCEPT`,
    `-A ${CHAIN_A} ! -d ff00::/8 ${COMMENT_A} -j MASQUERADE`,
  ],
};

describe("firewall: container masquerade", function () {
  this.timeout(30_000);
  let ns: TestNetns;
  beforeEach(() => {
    ns = TestNetns.create("fw-masq", { loUp: true });
  });
  afterEach(() => ns.delete());

  const variants = [
    { name: "iptables (nf_tables)", links: undefined, save: undefined },
    {
      name: "iptables-legacy",
      links: {
        "iptables-save": "/usr/sbin/iptables-legacy-save",
        "iptables-restore": "/usr/sbin/iptables-legacy-restore",
        "ip6tables-save": "/usr/sbin/ip6tables-legacy-save",
        "ip6tables-restore": "/usr/sbin/ip6tables-legacy-restore",
      },
      save: { 4: "iptables-legacy-save", 6: "ip6tables-legacy-save" } as const,
    },
  ];
  for (const variant of variants) {
    describe(variant.name, () => {
      let tools: { path: string; remove(): void } | undefined;
      beforeEach(() => {
        tools = variant.links === undefined ? undefined : toolDirectory("fw-legacy", variant.links);
      });
      afterEach(() => tools?.remove());
      const rules = (family: 4 | 6) => iptablesRules(ns, family, "nat", variant.save?.[family]);

      it("installs the reference's layout in both families, and again without duplicates", () => {
        firewallOk(ns, [setup(A, "iptables")], tools?.path);
        expect(rules(4)).to.deep.equal(EXPECTED_IPTABLES[4]);
        expect(rules(6)).to.deep.equal(EXPECTED_IPTABLES[6]);
        firewallOk(ns, [setup(A, "iptables"), setup(A, "iptables")], tools?.path);
        expect(rules(4)).to.deep.equal(EXPECTED_IPTABLES[4]);
        expect(rules(6)).to.deep.equal(EXPECTED_IPTABLES[6]);
      });

      it("tears down without addresses, in both families, and a second teardown succeeds", () => {
        firewallOk(ns, [setup(A, "iptables"), teardown(withoutIps(A)), teardown(withoutIps(A))], tools?.path);
        expect(rules(4)).to.deep.equal([]);
        expect(rules(6)).to.deep.equal([]);
        expect(iptablesChains(ns, 4, "nat", variant.save?.[4])).to.not.include(CHAIN_A);
        expect(iptablesChains(ns, 6, "nat", variant.save?.[6])).to.not.include(CHAIN_A);
      });
    });
  }

  it("tears down with addresses too, leaving other containers' rules", () => {
    const B = { ...A, containerId: "cid2", ips: ["10.22.0.6/24"] };
    firewallOk(ns, [setup(A, "iptables"), setup(B, "iptables"), teardown(A)]);
    const left = iptablesRules(ns, 4);
    expect(left).to.have.length(3);
    expect(left.every((line) => line.includes('id: \\"cid2\\"'))).to.equal(true);
    expect(iptablesRules(ns, 6)).to.deep.equal([]);
  });

  it("keeps a second interface's subnet exempt (ACCEPT before MASQUERADE) in the shared iptables chain", () => {
    const second = { ...A, ifName: "net1", ips: ["10.30.0.7/16"] };
    firewallOk(ns, [setup(A, "iptables"), setup(second, "iptables")]);
    expect(iptablesRules(ns, 4)).to.deep.equal([
      `-A POSTROUTING -s 10.22.0.5/32 ${COMMENT_A} -j ${CHAIN_A}`,
      `-A POSTROUTING -s 10.30.0.7/32 ${COMMENT_A} -j ${CHAIN_A}`,
      `-A ${CHAIN_A} -d 10.22.0.0/24 ${COMMENT_A} -j ACCEPT`,
      `-A ${CHAIN_A} -d 10.30.0.0/16 ${COMMENT_A} -j ACCEPT`,
      `-A ${CHAIN_A} ! -d 224.0.0.0/4 ${COMMENT_A} -j MASQUERADE`,
    ]);
  });

  it("tears down rule sets an interrupted ADD left half-installed", () => {
    const comment = (cid: string) => `-m comment --comment "name: \\"mynet\\" id: \\"${cid}\\""`;
    // cid1: chain with its first rule only, no jump yet; cid3: jump into an empty chain; cid4: empty chain.
    const [c1, c3, c4] = ["CNI-a631aa8e1549a3b129110fd2", chainOf("mynetcid3"), chainOf("mynetcid4")];
    iptablesRestore(
      ns,
      4,
      [
        "*nat",
        `:${c1} - [0:0]`,
        `:${c3} - [0:0]`,
        `:${c4} - [0:0]`,
        `-A ${c1} -d 10.22.0.0/24 ${comment("cid1")} -j ACCEPT`,
        `-A POSTROUTING -s 10.22.0.7/32 ${comment("cid3")} -j ${c3}`,
        "COMMIT",
        "",
      ].join("\n"),
    );
    // With addresses (the exact rules are not all there, so the rules are read) and without.
    const targets = [
      { ...A, containerId: "cid1", ips: ["10.22.0.5/24"] },
      { ...A, containerId: "cid3", ips: ["10.22.0.7/24", "fd00:22::7/64"] },
      withoutIps({ ...A, containerId: "cid4" }),
    ];
    firewallOk(ns, targets.map(teardown));
    expect(iptablesRules(ns, 4)).to.deep.equal([]);
    expect(iptablesChains(ns, 4)).to.deep.equal([]);
  });

  it("nftables: installs the reference's table, replaces the attachment's rules on a repeated setup", () => {
    firewallOk(ns, [setup(A, "nftables"), setup(A, "nftables")]);
    const { tables, rules } = nftRuleset(ns);
    expect(tables).to.include("inet cni_plugins_masquerade");
    const comment = "d23676b4f2d9fe04-0b65a318f52e521b, net: mynet, if: eth0, id: cid1";
    expect(rules.filter((rule) => rule.table === "inet cni_plugins_masquerade")).to.deep.equal([
      {
        table: "inet cni_plugins_masquerade",
        chain: "masq_checks",
        comment,
        text: "ip saddr == 10.22.0.5 ip daddr != 10.22.0.0/24 masquerade",
      },
      {
        table: "inet cni_plugins_masquerade",
        chain: "masq_checks",
        comment,
        text: "ip6 saddr == fd00:22::5 ip6 daddr != fd00:22::/64 masquerade",
      },
      {
        table: "inet cni_plugins_masquerade",
        chain: "postrouting",
        comment: undefined,
        text: "ip daddr == 224.0.0.0/4 return",
      },
      {
        table: "inet cni_plugins_masquerade",
        chain: "postrouting",
        comment: undefined,
        text: "ip6 daddr == ff00::/8 return",
      },
      { table: "inet cni_plugins_masquerade", chain: "postrouting", comment: undefined, text: "goto masq_checks" },
    ]);
    expect(iptablesRules(ns, 4)).to.deep.equal([]);
  });

  it("nftables: tears down one attachment by its hash, without addresses, leaving the others", () => {
    const net1 = { ...A, ifName: "net1", ips: ["10.30.0.7/16"] };
    firewallOk(ns, [setup(A, "nftables"), setup(net1, "nftables"), teardown(withoutIps(A)), teardown(withoutIps(A))]);
    const checks = nftRuleset(ns).rules.filter((rule) => rule.chain === "masq_checks");
    expect(checks.map((rule) => rule.text)).to.deep.equal([
      "ip saddr == 10.30.0.7 ip daddr != 10.30.0.0/16 masquerade",
    ]);
  });

  it("tears down where nothing was ever installed, creating nothing", () => {
    firewallOk(ns, [teardown(withoutIps(A)), { op: "gc", network: NET, valid: [] }]);
    expect(nftRuleset(ns).tables).to.deep.equal([]);
  });

  it("GC removes the rules of attachments not in the valid list, per backend granularity", () => {
    const B0 = { ...A, containerId: "cid2", ips: ["10.22.0.6/24"] };
    const B1 = { ...B0, ifName: "net1", ips: ["10.30.0.6/16"] };
    const C = { ...A, containerId: "cid3", ips: ["10.22.0.7/24"] };
    const other = { ...A, network: "othernet", containerId: "cid9", ips: ["10.40.0.9/24"] };
    // portmap's per-container chain carries the same comment shape and must survive GC.
    const portmap = `*nat\n:CNI-DN-000000000000000000000 - [0:0]\n-A CNI-DN-000000000000000000000 -p tcp -m comment --comment "name: \\"mynet\\" id: \\"cid3\\"" -j DNAT --to-destination 10.22.0.7:80\nCOMMIT\n`;
    iptablesRestore(ns, 4, portmap);
    firewallOk(
      ns,
      [A, B0, C, other].flatMap((t) => [setup(t, "iptables"), setup(t, "nftables")]).concat([setup(B1, "nftables")]),
    );
    firewallOk(ns, [
      {
        op: "gc",
        network: NET,
        valid: [
          { containerId: "cid1", ifName: "eth0" },
          { containerId: "cid2", ifName: "net1" },
        ],
      },
    ]);

    const sources = iptablesRules(ns, 4)
      .filter((line) => line.startsWith("-A POSTROUTING"))
      .map((line) => line.split(" ")[3]);
    // iptables knows containers only: cid2 stays while any of its attachments is valid.
    expect(sources).to.deep.equal(["10.22.0.5/32", "10.22.0.6/32", "10.40.0.9/32"]);
    expect(iptablesChains(ns, 4)).to.include("CNI-DN-000000000000000000000");
    expect(iptablesChains(ns, 4)).to.not.include(chainOf("mynetcid3"));
    const nftSources = nftRuleset(ns)
      .rules.filter((rule) => rule.chain === "masq_checks")
      .map((rule) => rule.text.split(" ")[3]);
    expect(nftSources).to.deep.equal(["10.22.0.5", "fd00:22::5", "10.40.0.9", "10.30.0.6"]);
    expect(iptablesRules(ns, 6)).to.have.length(3); // cid1's IPv6 rules

    firewallOk(ns, [{ op: "gc", network: NET, valid: [] }]);
    expect(iptablesRules(ns, 4).filter((line) => line.startsWith("-A POSTROUTING"))).to.have.length(1);
    expect(iptablesRules(ns, 6)).to.deep.equal([]);
    expect(nftRuleset(ns).rules.filter((rule) => rule.chain === "masq_checks")).to.have.length(1);
  });

  it("auto backend: iptables where it works, nftables where only nftables works", () => {
    firewallOk(ns, [setup(A)]);
    expect(iptablesRules(ns, 4)).to.deep.equal(EXPECTED_IPTABLES[4]);
    expect(nftRuleset(ns).tables).to.not.include("inet cni_plugins_masquerade");

    const broken = toolDirectory("fw-noipt", {}, [
      "iptables-save",
      "ip6tables-save",
      "iptables-restore",
      "ip6tables-restore",
    ]);
    try {
      const other = { ...A, containerId: "cid2" };
      firewallOk(ns, [setup(other), teardown(withoutIps(other))], broken.path);
      firewallOk(ns, [setup(other)], broken.path);
      expect(nftRuleset(ns).rules.filter((rule) => rule.chain === "masq_checks")).to.have.length(2);
      const explicit = firewall(ns, [setup(other, "iptables")], broken.path);
      expect(explicit.status).to.equal(1);
      expect(explicit.results.at(-1)?.error?.name).to.equal("IptablesUnavailableError");
    } finally {
      broken.remove();
    }
  });

  it("reports a failing tool with its exit status and stderr", () => {
    nftApplyIn(
      ns,
      "add table inet cni_plugins_masquerade\nadd chain inet cni_plugins_masquerade postrouting { type filter hook postrouting priority 0 ; }\n",
    );
    const outcome = firewall(ns, [setup(A, "nftables")]);
    expect(outcome.status).to.equal(1);
    const error = outcome.results.at(-1)?.error;
    expect(error?.name).to.equal("FirewallToolError");
    expect(error?.exitStatus).to.equal(1);
    expect(error?.stderr).to.match(/Operation not supported/);
    expect(error?.message).to.match(/^nft -f - exited with status 1: /);
  });
});

function chainOf(networkAndContainer: string): string {
  // Independent of the code under test: the reference's formula, FormatChainName.
  return `CNI-${createHash("sha512").update(networkAndContainer).digest("hex").slice(0, 24)}`;
}

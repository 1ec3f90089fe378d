// A node moving between the reference bridge (Debian's containernetworking-plugins in /usr/lib/cni)
// and ours: our teardown removes the reference's masquerade rules, and the reference's DEL removes
// ours. Debian ships plugins 1.1.1, whose bridge has only the iptables backend; for nftables the
// reference's rules are written with the exact commands its source sends to nft
// (pkg/ip/ipmasq_nftables_linux.go through knftables), and its teardown is replayed the way that
// source does it.

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";

import { attachmentEnv, callPlugin } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { REFERENCE_PLUGINS, scratchDir } from "../../helpers/suite";
import { firewallOk, iptablesChains, iptablesRules, nftApplyIn, nftRuleset } from "./support";

const NETWORK = "refnet";
const CONTAINER = "ref-ctr-1";

describe("firewall: masquerade interoperability with the reference bridge", function () {
  this.timeout(30_000);
  let host: TestNetns;
  let pod: TestNetns;
  let dataDir: string;

  beforeEach(() => {
    host = TestNetns.create("fw-ref-host", { loUp: true });
    pod = TestNetns.create("fw-ref-pod", { loUp: true });
    dataDir = scratchDir("fw-ref-ipam");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const reference = (command: "ADD" | "DEL", ipMasq: boolean) => {
    const reply = callPlugin({
      plugin: join(REFERENCE_PLUGINS, "bridge"),
      command,
      host,
      config: {
        cniVersion: "1.0.0",
        name: NETWORK,
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq,
        ipam: {
          type: "host-local",
          dataDir,
          ranges: [[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]],
        },
      },
      env: attachmentEnv(CONTAINER, pod.path, { CNI_PATH: REFERENCE_PLUGINS }),
    });
    expect(reply.status, reply.stdout + reply.stderr).to.equal(0);
    return reply;
  };
  const masqueradeRules = (family: 4 | 6) => iptablesRules(host, family).filter((line) => line.includes("CNI-"));
  const chain = `CNI-${createHash("sha512")
    .update(NETWORK + CONTAINER)
    .digest("hex")
    .slice(0, 24)}`;
  const target = { network: NETWORK, containerId: CONTAINER, ifName: "eth0" };

  it("our teardown, without addresses, removes the rules the reference bridge installed (iptables, v4 and v6)", () => {
    reference("ADD", true);
    expect(masqueradeRules(4)).to.have.length(3);
    expect(masqueradeRules(6)).to.have.length(3);
    expect(iptablesChains(host, 4)).to.include(chain);

    firewallOk(host, [{ op: "teardown", target: { ...target, ips: [] } }]);
    expect(masqueradeRules(4)).to.deep.equal([]);
    expect(masqueradeRules(6)).to.deep.equal([]);
    expect(iptablesChains(host, 4)).to.deep.equal([]);
    expect(iptablesChains(host, 6)).to.deep.equal([]);
    // Not followed by the reference's DEL: with iptables-nft 1.8.9 it fails once its chain is gone
    // ("Chain ... does not exist", exit status 2, which its go-iptables does not take for "not found").
  });

  it("our setup over the reference's rules adds nothing twice", () => {
    const added = reference("ADD", true);
    const before = [masqueradeRules(4), masqueradeRules(6)];
    const ips = (added.json?.["ips"] as { address: string }[]).map((ip) => ip.address);
    firewallOk(host, [{ op: "setup", backend: "iptables", target: { ...target, ips } }]);
    expect([masqueradeRules(4), masqueradeRules(6)]).to.deep.equal(before);
    reference("DEL", true);
    expect([masqueradeRules(4), masqueradeRules(6)]).to.deep.equal([[], []]);
  });

  it("the reference bridge's DEL removes the rules our setup installed (iptables, v4 and v6)", () => {
    const added = reference("ADD", false);
    const ips = (added.json?.["ips"] as { address: string }[]).map((ip) => ip.address);
    expect(ips).to.have.length(2);
    firewallOk(host, [{ op: "setup", backend: "iptables", target: { ...target, ips } }]);
    expect(masqueradeRules(4)).to.have.length(3);
    expect(masqueradeRules(6)).to.have.length(3);

    reference("DEL", true);
    expect(masqueradeRules(4)).to.deep.equal([]);
    expect(masqueradeRules(6)).to.deep.equal([]);
    expect(iptablesChains(host, 4)).to.deep.equal([]);
    expect(iptablesChains(host, 6)).to.deep.equal([]);
  });

  describe("nftables (reference rules from its source)", () => {
    const hash = (text: string, length = 16) => createHash("sha512").update(text).digest("hex").slice(0, length);
    const instance = `${hash(NETWORK)}-${hash(`eth0:${CONTAINER}`)}`;
    const comment = `${instance}, net: ${NETWORK}, if: eth0, id: ${CONTAINER}`;
    const T = "inet cni_plugins_masquerade";
    // The transaction knftables sends for SetupIPMasqForNetworks(10.22.0.5/24, fd00:22::5/64).
    const referenceSetup = [
      `add table ${T} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
      `add chain ${T} masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
      `add chain ${T} postrouting { type nat hook postrouting priority 100 ; }`,
      `flush chain ${T} postrouting`,
      `add rule ${T} postrouting ip daddr == 224.0.0.0/4  return`,
      `add rule ${T} postrouting ip6 daddr == ff00::/8  return`,
      `add rule ${T} postrouting goto masq_checks`,
      `add rule ${T} masq_checks ip saddr == 10.22.0.5 ip daddr != 10.22.0.0/24 masquerade comment "${comment}"`,
      `add rule ${T} masq_checks ip6 saddr == fd00:22::5 ip6 daddr != fd00:22::/64 masquerade comment "${comment}"`,
      "",
    ].join("\n");
    const checks = () => nftRuleset(host).rules.filter((rule) => rule.chain === "masq_checks");

    it("our teardown removes the reference's nftables rules", () => {
      nftApplyIn(host, referenceSetup);
      expect(checks()).to.have.length(2);
      firewallOk(host, [{ op: "teardown", target: { ...target, ips: [] } }]);
      expect(checks()).to.deep.equal([]);
    });

    it("the reference's teardown (rules whose comment starts with its instance hash) removes ours", () => {
      firewallOk(host, [
        { op: "setup", backend: "nftables", target: { ...target, ips: ["10.22.0.5/24", "fd00:22::5/64"] } },
      ]);
      // teardownIPMasqNFTables: list masq_checks, delete every rule whose comment has the prefix.
      const listing = JSON.parse(
        host.exec("nft", ["-j", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"]).stdout,
      ) as {
        nftables: { rule?: { handle: number; comment?: string } }[];
      };
      const handles = listing.nftables.flatMap((item) =>
        item.rule?.comment?.startsWith(instance) === true ? [item.rule.handle] : [],
      );
      expect(handles).to.have.length(2);
      nftApplyIn(host, handles.map((handle) => `delete rule ${T} masq_checks handle ${handle}`).join("\n") + "\n");
      expect(checks()).to.deep.equal([]);
    });
  });
});

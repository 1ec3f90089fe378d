// ipMasq through the compiled binary: a pod reaches an address in a separate "outside" namespace and
// is seen there with the node's address; the rules are the reference's (iptables or nftables); DEL
// removes them even when the pod's interface is gone, and GC removes those of stale attachments.

import { expect } from "chai";

import { masqueradeChainName, NFT_MASQUERADE, nftAttachmentHash } from "../../../../firewall/masquerade-names";
import type { TestNetns } from "../../../helpers/netns";
import { createOutside, NODE_UPLINK_ADDRESS, sourceSeenOutside } from "../../../helpers/outside";
import { type BridgeNode, NETWORK, useBridgeNode } from "./fixture";

describe("bridge ipMasq (compiled binary)", () => {
  const fixture = useBridgeNode();
  let outside: TestNetns;

  beforeEach(() => {
    outside = createOutside(fixture.node.host);
  });
  afterEach(() => outside.delete());

  const masqConfig = (node: BridgeNode, keys: Record<string, unknown> = {}) =>
    node.config({ isDefaultGateway: true, ipMasq: true, ...keys });
  const natRules = (node: BridgeNode): string => node.host.exec("iptables-save", ["-t", "nat"]).stdout;
  const nftRuleset = (node: BridgeNode): string => node.host.exec("nft", ["-j", "list", "ruleset"]).stdout;

  it("iptables (the default): the pod reaches outside as the node; the reference's chain; DEL removes it", async () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = masqConfig(node);
    const result = node.addOk(pod, config);
    const chain = masqueradeChainName(NETWORK, pod.containerId);
    expect(natRules(node)).to.contain(`-A POSTROUTING -s 10.22.0.2/32`).and.contain(`-j ${chain}`);
    expect(await sourceSeenOutside(pod.ns, outside)).to.equal(NODE_UPLINK_ADDRESS);

    expect(node.del(pod, config, result).status).to.equal(0);
    expect(natRules(node)).to.not.contain(chain);
  });

  it("nftables: the reference's table and rule; DEL removes the rule", async () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = masqConfig(node, { ipMasqBackend: "nftables" });
    const result = node.addOk(pod, config);
    const hash = nftAttachmentHash(NETWORK, "eth0", pod.containerId);
    expect(nftRuleset(node)).to.contain(NFT_MASQUERADE.table).and.contain(hash);
    expect(natRules(node)).to.not.contain("CNI-");
    expect(await sourceSeenOutside(pod.ns, outside)).to.equal(NODE_UPLINK_ADDRESS);

    expect(node.del(pod, config, result).status).to.equal(0);
    expect(nftRuleset(node)).to.not.contain(hash);
  });

  it("DEL removes the rules when the pod's namespace is already gone, with or without prevResult", () => {
    const { node } = fixture;
    for (const withPrevResult of [true, false]) {
      const pod = node.pod();
      const config = masqConfig(node);
      const result = node.addOk(pod, config);
      pod.ns.delete();
      const deleted = node.del(pod, config, withPrevResult ? result : undefined);
      expect(deleted.status, deleted.stdout).to.equal(0);
      expect(natRules(node)).to.not.contain(masqueradeChainName(NETWORK, pod.containerId));
    }
    expect(node.reservations()).to.deep.equal([]);
  });

  it("DEL after an ADD killed half-way through its rules (the chain made, the jump not) succeeds", () => {
    const { node } = fixture;
    const pod = node.pod();
    const chain = masqueradeChainName(NETWORK, pod.containerId);
    node.host.exec("iptables", ["-t", "nat", "-N", chain]);
    expect(node.del(pod, masqConfig(node)).status).to.equal(0);
    expect(natRules(node)).to.not.contain(chain);
  });

  it("a masquerade that cannot be set up (no iptables) rolls the ADD back", () => {
    const { node } = fixture;
    const pod = node.pod();
    // iptables lives in /usr/sbin, which this PATH leaves out.
    const reply = node.add(pod, masqConfig(node, { ipMasqBackend: "iptables" }), { PATH: "/usr/bin:/bin" });
    expect(reply.status).to.equal(1);
    expect(node.hostVeths()).to.deep.equal([]);
    expect(node.reservations()).to.deep.equal([]);
  });

  it("GC keeps the rules and reservations of valid attachments and removes the others'", () => {
    const { node } = fixture;
    const [kept, stale] = [node.pod(), node.pod()];
    const config = masqConfig(node, { cniVersion: "1.1.0" });
    node.addOk(kept, config);
    node.addOk(stale, config);
    const gc = node.call("GC", undefined, {
      ...config,
      "cni.dev/valid-attachments": [{ containerID: kept.containerId, ifname: "eth0" }],
    });
    expect(gc.status, gc.stdout).to.equal(0);
    const rules = natRules(node);
    expect(rules).to.contain(masqueradeChainName(NETWORK, kept.containerId));
    expect(rules).to.not.contain(masqueradeChainName(NETWORK, stale.containerId));
    expect(node.reservations()).to.deep.equal(["10.22.0.2"]);
  });
});

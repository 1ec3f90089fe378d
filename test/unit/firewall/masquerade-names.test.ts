// Names and comments of the masquerade rules must be exactly the reference plugins' (the expected
// values come from `sha512sum` and from rules the reference bridge wrote), or a node moving between
// the reference and us would leak rules.

import { expect } from "chai";

import {
  iptablesMasqueradeComment,
  MASQUERADE_CHAIN_PATTERN,
  masqueradeChainName,
  nftAttachmentHash,
  nftMasqueradeComment,
  nftNetworkHash,
  parseIptablesMasqueradeComment,
} from "../../../firewall/masquerade-names";

describe("firewall: masquerade names", () => {
  it("names the iptables chain CNI- and the first 24 hex digits of sha512(network + containerId)", () => {
    // /usr/lib/cni/bridge (1.1.1) created CNI-a631aa8e1549a3b129110fd2 for network "mynet", container "cid1".
    expect(masqueradeChainName("mynet", "cid1")).to.equal("CNI-a631aa8e1549a3b129110fd2");
    expect(masqueradeChainName("k8s-pod-network", "0123456789abcdef")).to.equal("CNI-afb0649f86460d9ef8a3a4a1");
    expect(masqueradeChainName("mynet", "cid1")).to.have.length(28);
  });

  it("recognises only chains of the masquerade shape", () => {
    expect(MASQUERADE_CHAIN_PATTERN.test("CNI-a631aa8e1549a3b129110fd2")).to.equal(true);
    expect(MASQUERADE_CHAIN_PATTERN.test("CNI-DN-a631aa8e1549a3b129110")).to.equal(false);
    expect(MASQUERADE_CHAIN_PATTERN.test("CNI-HOSTPORT-DNAT")).to.equal(false);
  });

  it("writes and reads the iptables comment in Go's %q form", () => {
    expect(iptablesMasqueradeComment("mynet", "cid1")).to.equal('name: "mynet" id: "cid1"');
    expect(parseIptablesMasqueradeComment('name: "mynet" id: "cid1"')).to.deep.equal({
      network: "mynet",
      containerId: "cid1",
    });
    expect(parseIptablesMasqueradeComment(iptablesMasqueradeComment('a"b', "c\\d"))).to.deep.equal({
      network: 'a"b',
      containerId: "c\\d",
    });
    expect(parseIptablesMasqueradeComment("flanneld masq")).to.equal(undefined);
    expect(parseIptablesMasqueradeComment('name: "mynet" id: "cid1" extra')).to.equal(undefined);
  });

  it("cuts an iptables comment to the 255 bytes xt_comment takes (identifiers the reference cannot install)", () => {
    const comment = iptablesMasqueradeComment("mynet", "c".repeat(300));
    expect(comment).to.have.length(255);
    expect(comment.startsWith('name: "mynet" id: "ccc')).to.equal(true);
    expect(parseIptablesMasqueradeComment(comment)).to.equal(undefined);
  });

  it("hashes nftables comments as the reference: 16 hex of the network, 16 hex of ifname:containerId", () => {
    expect(nftNetworkHash("mynet")).to.equal("d23676b4f2d9fe04");
    expect(nftAttachmentHash("mynet", "eth0", "cid1")).to.equal("d23676b4f2d9fe04-0b65a318f52e521b");
    expect(nftMasqueradeComment("mynet", "eth0", "cid1")).to.equal(
      "d23676b4f2d9fe04-0b65a318f52e521b, net: mynet, if: eth0, id: cid1",
    );
  });

  it("truncates nftables comments to 128 characters, keeping the hash", () => {
    const containerId = "f".repeat(64);
    const comment = nftMasqueradeComment("k8s-pod-network", "eth0", containerId);
    expect(comment).to.have.length(128);
    expect(comment.startsWith(nftAttachmentHash("k8s-pod-network", "eth0", containerId))).to.equal(true);
  });
});

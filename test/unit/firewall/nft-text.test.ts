// nft -j output and nft scripts.

import { expect } from "chai";

import { JsonShapeError } from "../../../cni/json";
import { deleteRuleCommand, nftRulesOf, nftString } from "../../../firewall/nft-text";
import { REFERENCE_NFT_LISTING } from "./support/fixtures";

describe("firewall: nft text", () => {
  it("reads the rules of an nft -j listing with their handles and comments", () => {
    const rules = nftRulesOf(REFERENCE_NFT_LISTING);
    expect(rules.map((rule) => [rule.chain, rule.handle, rule.comment])).to.deep.equal([
      ["masq_checks", 6, "d23676b4f2d9fe04-0b65a318f52e521b, net: mynet, if: eth0, id: cid1"],
      ["masq_checks", 7, "d23676b4f2d9fe04-0b65a318f52e521b, net: mynet, if: eth0, id: cid1"],
      ["postrouting", 3, undefined],
      ["postrouting", 4, undefined],
      ["postrouting", 5, undefined],
    ]);
    expect(deleteRuleCommand(rules[0]!)).to.equal("delete rule inet cni_plugins_masquerade masq_checks handle 6");
  });

  it("rejects a listing of the wrong shape, naming the path", () => {
    expect(() => nftRulesOf({ nftables: [{ rule: { family: "inet", table: 3 } }] })).to.throw(
      JsonShapeError,
      /nftables\[0\]\.rule\.table: expected a string/,
    );
    expect(() => nftRulesOf([])).to.throw(JsonShapeError);
    expect(nftRulesOf({ nftables: [] })).to.deep.equal([]);
  });

  it("quotes strings, refusing what nft cannot carry", () => {
    expect(nftString("net: a, if: eth0")).to.equal('"net: a, if: eth0"');
    expect(() => nftString('a"b')).to.throw(RangeError);
    expect(() => nftString("a\nb")).to.throw(RangeError);
  });
});

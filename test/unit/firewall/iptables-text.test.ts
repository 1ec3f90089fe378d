// The iptables-save / iptables-restore text format.

import { expect } from "chai";

import {
  optionOf,
  parseIptablesSave,
  quoteArg,
  removeChainsScript,
  restoreScript,
  ruleLine,
  splitArgs,
  targetOf,
} from "../../../firewall/iptables-text";
import { REFERENCE_NAT } from "./support/fixtures";

describe("firewall: iptables text", () => {
  it("parses iptables-save output into chains and rules", () => {
    const nat = parseIptablesSave(REFERENCE_NAT).get("nat");
    expect([...(nat?.chains ?? [])]).to.deep.equal([
      "PREROUTING",
      "INPUT",
      "OUTPUT",
      "POSTROUTING",
      "CNI-a631aa8e1549a3b129110fd2",
      "KUBE-POSTROUTING",
    ]);
    expect(nat?.rules[0]).to.deep.equal({
      chain: "POSTROUTING",
      args: [
        "-s",
        "10.22.0.2/32",
        "-m",
        "comment",
        "--comment",
        'name: "mynet" id: "cid1"',
        "-j",
        "CNI-a631aa8e1549a3b129110fd2",
      ],
    });
    expect(nat?.rules.map(targetOf)).to.deep.equal([
      "CNI-a631aa8e1549a3b129110fd2",
      "KUBE-POSTROUTING",
      "ACCEPT",
      "MASQUERADE",
    ]);
  });

  it("parses several tables and rejects lines it does not understand", () => {
    const tables = parseIptablesSave("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*nat\nCOMMIT\n");
    expect([...tables.keys()]).to.deep.equal(["filter", "nat"]);
    expect(() => parseIptablesSave("-A FORWARD -j ACCEPT\n")).to.throw(SyntaxError, /line 1: outside of a table/);
    expect(() => parseIptablesSave("*nat\n-I POSTROUTING -j ACCEPT\n")).to.throw(SyntaxError, /unexpected line/);
  });

  it("splits arguments with quotes and escapes, and quotes them back the same way", () => {
    expect(splitArgs('-A X -m comment --comment "a \\"b\\" \\\\c" -j RETURN')).to.deep.equal([
      "-A",
      "X",
      "-m",
      "comment",
      "--comment",
      'a "b" \\c',
      "-j",
      "RETURN",
    ]);
    expect(splitArgs('--comment ""')).to.deep.equal(["--comment", ""]);
    expect(() => splitArgs('--comment "open')).to.throw(SyntaxError);
    for (const arg of [
      "plain",
      "10.0.0.0/8",
      "fd00::/64",
      "0x4000/0x4000",
      "!",
      "two words",
      'q"uote',
      "",
      "back\\slash",
    ]) {
      expect(splitArgs(quoteArg(arg))).to.deep.equal([arg]);
    }
    expect(ruleLine("-D", "POSTROUTING", ["-s", "10.0.0.1/32", "--comment", 'name: "n"'])).to.equal(
      '-D POSTROUTING -s 10.0.0.1/32 --comment "name: \\"n\\""',
    );
  });

  it("reads an option's value and its negation", () => {
    const args = ["!", "-d", "224.0.0.0/4", "-s", "10.0.0.0/8", "-j", "MASQUERADE"];
    expect(optionOf(args, "-d")).to.deep.equal({ value: "224.0.0.0/4", negated: true });
    expect(optionOf(args, "-s")).to.deep.equal({ value: "10.0.0.0/8", negated: false });
    expect(optionOf(args, "--comment")).to.equal(undefined);
  });

  it("removes chains after every jump to them, and does nothing when none is left", () => {
    const nat = parseIptablesSave(REFERENCE_NAT).get("nat");
    expect(nat).to.not.equal(undefined);
    if (nat === undefined) return;
    expect(removeChainsScript("nat", nat, ["CNI-a631aa8e1549a3b129110fd2"])).to.equal(
      [
        "*nat",
        ":CNI-a631aa8e1549a3b129110fd2 - [0:0]",
        '-D POSTROUTING -s 10.22.0.2/32 -m comment --comment "name: \\"mynet\\" id: \\"cid1\\"" -j CNI-a631aa8e1549a3b129110fd2',
        "-X CNI-a631aa8e1549a3b129110fd2",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(removeChainsScript("nat", nat, ["CNI-000000000000000000000000"])).to.equal(undefined);
    // A jump left without its chain (an interrupted ADD) is still removed.
    const jumpOnly = { chains: new Set(["POSTROUTING"]), rules: nat.rules.slice(0, 1) };
    expect(removeChainsScript("nat", jumpOnly, ["CNI-a631aa8e1549a3b129110fd2"])).to.equal(
      restoreScript("nat", [], [ruleLine("-D", "POSTROUTING", nat.rules[0]?.args ?? [])]),
    );
  });
});

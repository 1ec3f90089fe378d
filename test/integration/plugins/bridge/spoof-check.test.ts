// macspoofchk: the reference's nftables rules (bridge family, table nat), which drop frames from the
// pod whose source MAC is not the pod's, and DEL removes them.

import { expect } from "chai";

import { ping } from "../../../helpers/ping";
import { useBridgeNode } from "./fixture";

interface NftObject {
  readonly chain?: { readonly name: string; readonly hook?: string; readonly prio?: number };
  readonly rule?: { readonly chain: string; readonly comment?: string; readonly expr: readonly unknown[] };
}

describe("bridge macspoofchk (compiled binary)", () => {
  const fixture = useBridgeNode();

  const ruleset = (): NftObject[] => {
    const out = fixture.node.host.exec("nft", ["-j", "list", "ruleset"]);
    return (JSON.parse(out.stdout) as { nftables: NftObject[] }).nftables;
  };

  it("installs the reference's chains and rules, enforces them, and DEL removes them", () => {
    const { node } = fixture;
    const [pod, other] = [node.pod(), node.pod()];
    const config = node.config({ macspoofchk: true });
    const result = node.addOk(pod, config);
    node.addOk(other, config);
    const id = `${pod.containerId}-eth0`;
    const hostVeth = result.interfaces[1]?.name;
    const mac = result.interfaces[2]?.mac;

    const objects = ruleset();
    const chains = objects.flatMap((o) => (o.chain !== undefined ? [o.chain] : []));
    expect(chains.map((c) => c.name)).to.include.members([
      "PREROUTING",
      `cni-br-iface-${id}`,
      `cni-br-iface-${id}-mac`,
    ]);
    expect(chains.find((c) => c.name === "PREROUTING")).to.include({ hook: "prerouting", prio: -300 });
    const rules = objects.flatMap((o) =>
      o.rule !== undefined && o.rule.comment === `macspoofchk-${id}` ? [o.rule] : [],
    );
    expect(rules.map((r) => r.chain)).to.deep.equal([
      "PREROUTING",
      `cni-br-iface-${id}`,
      `cni-br-iface-${id}-mac`,
      `cni-br-iface-${id}-mac`,
    ]);
    expect(JSON.stringify(rules[0]?.expr)).to.contain(`"right":"${hostVeth}"`);
    expect(JSON.stringify(rules[2]?.expr)).to.contain(`"right":"${mac}"`);

    expect(ping(pod.ns, "10.22.0.3"), "with its own MAC").to.equal(true);
    pod.ns.ip("link", "set", "eth0", "address", "0a:00:00:00:00:99");
    pod.ns.ip("neigh", "flush", "all");
    other.ns.ip("neigh", "flush", "all");
    expect(ping(pod.ns, "10.22.0.3", 0.5), "with a spoofed MAC").to.equal(false);

    const deleted = node.del(pod, config, result);
    expect(deleted.status, deleted.stdout).to.equal(0);
    const left = ruleset();
    expect(left.filter((o) => o.rule?.comment === `macspoofchk-${id}`)).to.deep.equal([]);
    expect(left.filter((o) => o.chain?.name.includes(id) === true)).to.deep.equal([]);
    // The other pod's rules are its own and stay.
    expect(left.filter((o) => o.rule?.comment === `macspoofchk-${other.containerId}-eth0`)).to.have.length(4);
    expect(node.del(pod, config, result).status, "a second DEL").to.equal(0);
  });
});

// Soak, short version (the full one is `make reliability`): 200 mixed ADD, CHECK and DEL operations
// through libcni, 16 in flight, on one node running the bridge chain (iptables masquerade) and the
// flannel chain (nftables masquerade) at once: no failure, no address handed out twice, and nothing
// left once every pod is deleted.

import { expect } from "chai";

import { formatSoakFigures, soakProblems } from "../reliability/report";
import { runSoak } from "../reliability/soak";

describe("soak: mixed operations in flight through libcni (short)", function () {
  this.timeout(180_000);

  it("200 operations, 16 in flight: no failure, no duplicate address, nothing left behind", async () => {
    const report = await runSoak({ operations: 200, inFlight: 16, seed: 7 });
    expect(soakProblems(report), formatSoakFigures(report)).to.deep.equal([]);
    const total = Object.values(report.operations).reduce((sum, n) => sum + n, 0);
    expect(total).to.be.at.least(200);
    expect(report.operations.CHECK).to.be.greaterThan(0);
    expect(report.operations["DEL (netns gone)"]).to.be.greaterThan(0);
    expect(report.peakAttached).to.be.at.least(16);
  });
});

// Fault injection, short version (the full one is `make reliability`): on each chain, the plugin is
// SIGKILLed at its start, when its reservation file appears, while it runs a firewall tool, while
// flannel saves its delegate config, and at a few delays drawn over a normal ADD (and DEL); after
// the runtime's DEL (libcni, at most three attempts) and GC, nothing of the killed attachment may
// be left, and the bystander pod must be whole.

import { expect } from "chai";

import { runFaultInjection } from "../../reliability/faults";
import { formatFaultFigures, faultProblems } from "../../reliability/report";
import { FAULT_CHAINS } from "../../reliability/chains";

describe("SIGKILL during ADD and DEL (short fault injection)", function () {
  this.timeout(180_000);

  for (const spec of FAULT_CHAINS) {
    it(`${spec.kind} chain with ${spec.backend} masquerade: DEL and GC leave nothing after every kill`, async () => {
      const report = await runFaultInjection([spec], { addTrials: 4, delTrials: 2, calibrationRuns: 3, seed: 7 });
      expect(faultProblems(report), formatFaultFigures(report, 7)).to.deep.equal([]);
      // The harness really interrupted plugins: the kill at the start cannot miss.
      const killed = report.trials.filter((trial) => trial.run.outcome === "killed");
      expect(killed.map((trial) => trial.moment)).to.include("at start");
      expect(killed.length).to.be.greaterThan(report.trials.length / 2);
    });
  }
});

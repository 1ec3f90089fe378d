// Malformed input, fuzzed: a fixed sample of the generator's cases (make fuzz runs 10,000 and more)
// and every kept case that once failed, against the installed suite. Each must get the spec's
// answer (an error JSON with the right code and a non-zero exit, or success and a clean life
// cycle), in time, without a crash, and leave the host and pod namespaces and the data dirs as
// they were. test/fuzz/ has the generator, the oracle and the runner.

import { expect } from "chai";
import { rmSync } from "node:fs";

import { caseId, fails, type FuzzCase } from "../fuzz/fuzz-case";
import { formatFailures, type RunReport } from "../fuzz/report";
import { runFuzz } from "../fuzz/runner";
import { builtPlugins, generateCases, regressionCases } from "../fuzz/session";
import { scratchDir, suiteDir } from "../helpers/suite";

const SEED = 20_251_123;
const SAMPLE = 300;

async function run(cases: readonly FuzzCase[]): Promise<RunReport> {
  const scratch = scratchDir("fuzz");
  try {
    return await runFuzz(cases, { suiteDir: suiteDir(), scratchDir: scratch });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe("fuzzing with malformed input", function () {
  this.timeout(120_000);
  const plugins = builtPlugins();

  it(`answers ${SAMPLE} generated cases (seed ${SEED}) as the spec requires, changing nothing`, async () => {
    const report = await run(generateCases(SEED, 0, SAMPLE, plugins));
    expect(report.failures, formatFailures(report)).to.deep.equal([]);
    expect(report.cases).to.equal(SAMPLE);
    // The sample exercises every plugin the binary has and both sides of the oracle.
    expect([...report.byPlugin.keys()].sort()).to.deep.equal(
      generateCases(SEED, 0, SAMPLE, plugins)
        .map((c) => c.plugin)
        .filter((p, i, all) => all.indexOf(p) === i)
        .sort(),
    );
    expect([...report.byObserved.keys()]).to.include.members(["success", "error 4", "error 6", "error 7"]);
  });

  describe("cases that once failed (test/fuzz/regressions)", () => {
    const kept = regressionCases(plugins);
    let report: RunReport;
    before(async () => (report = await run(kept)));

    for (const fuzzCase of kept) {
      it(`case ${caseId(fuzzCase)}: ${fuzzCase.description}`, () => {
        const failures = report.failures.filter((failure) => failure.id === caseId(fuzzCase));
        expect(failures.map((failure) => failure.problem)).to.deep.equal([]);
      });
    }
  });

  it("reports a wrong answer and a change left on the host (the runner's own check)", async () => {
    // A valid host-local ADD, claimed to be invalid: it succeeds and leaves its reservation behind.
    const valid = generateCases(SEED, 0, 2000, ["host-local"]).find(
      (c) => c.family === "valid" && c.env["CNI_COMMAND"] === "ADD",
    );
    expect(valid, "a valid host-local ADD among the generated cases").to.not.equal(undefined);
    const report = await run([{ ...valid!, expect: fails(7) }]);
    const problems = report.failures.map((failure) => failure.problem.split("\n")[0]);
    expect(problems).to.deep.equal(["succeeded, expected code 7", "changed the host although it failed:"]);
  });
});

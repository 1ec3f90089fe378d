// Mocha reporter: the usual "spec" output, plus this run's totals appended to the file named by
// TSCNI_TEST_TALLY, so `make test` can print one "N passed, N failed" line over all phases.
"use strict";

const fs = require("node:fs");
const Mocha = require("mocha");

const { EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS } = Mocha.Runner.constants;

class TallyReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    runner.on(EVENT_TEST_PASS, () => passed++);
    // Mocha reports a failing hook as one failure, so a broken setup cannot look green.
    runner.on(EVENT_TEST_FAIL, () => failed++);
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.TSCNI_TEST_TALLY;
      const phase = process.env.TSCNI_TEST_PHASE ?? "tests";
      if (file) fs.appendFileSync(file, `${JSON.stringify({ phase, passed, failed })}\n`);
    });
  }
}

module.exports = TallyReporter;

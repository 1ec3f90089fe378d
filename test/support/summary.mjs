// Prints the last line of `make test`: "N passed, N failed" over every phase that was expected to
// run. A phase that reported nothing (it crashed before mocha finished) counts as one failure.
import { existsSync, readFileSync } from "node:fs";

const [tallyFile, ...expectedPhases] = process.argv.slice(2);
const lines = tallyFile && existsSync(tallyFile) ? readFileSync(tallyFile, "utf8").split("\n").filter(Boolean) : [];
const tallies = lines.map((line) => JSON.parse(line));

let passed = 0;
let failed = 0;
for (const phase of expectedPhases) {
  const tally = tallies.find((t) => t.phase === phase);
  if (tally === undefined) {
    console.log(`phase "${phase}" did not report results (crashed or did not run): counted as 1 failure`);
    failed += 1;
    continue;
  }
  console.log(`phase ${phase}: ${tally.passed} passed, ${tally.failed} failed`);
  passed += tally.passed;
  failed += tally.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;

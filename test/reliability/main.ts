// make reliability: the full fault-injection and soak runs against the built suite (root, in
// namespaces and directories of their own), their figures, and a line saying PASS or FAIL.
//
//   tsx test/reliability/main.ts [--seed N] [--kill-trials N] [--del-trials N] [--soak N] [--in-flight N]

import yargs from "yargs";
import { hideBin } from "yargs/helpers";

import { deleteAllTestNetns } from "../helpers/netns";
import { removeInstalledSuite } from "../helpers/suite";
import { FAULT_CHAINS } from "./chains";
import { runFaultInjection } from "./faults";
import { ReliabilityNode } from "./node";
import { faultProblems, formatFaultFigures, formatSoakFigures, soakProblems } from "./report";
import { runSoak } from "./soak";

const argv = yargs(hideBin(process.argv))
  .usage("$0: SIGKILL fault injection and a concurrency soak against the built suite (root)")
  .option("seed", { type: "number", default: 1, describe: "seed of the kill delays and the soak's operation mix" })
  .option("kill-trials", {
    type: "number",
    default: 64,
    describe: "ADD kill trials at uniform delays per chain (4 chains; fixed points come on top)",
  })
  .option("del-trials", { type: "number", default: 12, describe: "DEL kill trials per chain" })
  .option("soak", { type: "number", default: 2000, describe: "soak operations" })
  .option("in-flight", { type: "number", default: 16, describe: "soak operations in flight" })
  .strict()
  .parseSync();

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("make reliability needs root (network and mount namespaces)");
    return 2;
  }
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const faults = await runFaultInjection(
    FAULT_CHAINS,
    { addTrials: argv["kill-trials"], delTrials: argv["del-trials"], calibrationRuns: 5, seed: argv.seed },
    progress,
  );
  console.log(formatFaultFigures(faults, argv.seed));
  const soak = await runSoak({ operations: argv.soak, inFlight: argv["in-flight"], seed: argv.seed }, progress);
  console.log(formatSoakFigures(soak));

  const problems = [...faultProblems(faults), ...soakProblems(soak)];
  for (const problem of problems) console.log(`FAILED: ${problem}`);
  const summary = `${faults.trials.length} kill trials, ${Object.values(soak.operations).reduce((a, b) => a + b, 0)} soak operations`;
  console.log(
    problems.length === 0
      ? `fault injection and soak: PASS (${summary}, nothing left behind)`
      : `fault injection and soak: FAIL (${problems.length} problems)`,
  );
  return problems.length === 0 ? 0 : 1;
}

const cleanUp = (): void => {
  ReliabilityNode.removeAll();
  deleteAllTestNetns();
  removeInstalledSuite();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
try {
  process.exitCode = await main();
} finally {
  cleanUp();
}

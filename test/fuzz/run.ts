// make fuzz: the full run (10,000 cases by default) against the installed suite, as root, in
// namespaces and directories of its own. Prints the figures; exits 1 on any failure.
//
//   tsx test/fuzz/run.ts [--seed N] [--count N] [--start N] [--workers N] [--time-bound MS]
//                        [--keep] [--replay]

import { rmSync } from "node:fs";

import yargs from "yargs";
import { hideBin } from "yargs/helpers";

import { formatFailures, formatFigures, type RunReport } from "./report";
import { runFuzz } from "./runner";
import { builtPlugins, generateCases, keepCase, pluginsWithoutModel, regressionCases } from "./session";
import { deleteAllTestNetns } from "../helpers/netns";
import { removeInstalledSuite, scratchDir, suiteDir } from "../helpers/suite";

const argv = yargs(hideBin(process.argv))
  .usage("$0: run the malformed-input fuzzer against the built suite (root)")
  .option("seed", { type: "number", default: 1, describe: "the run's seed; a case is (seed, index)" })
  .option("start", { type: "number", default: 0, describe: "first case index" })
  .option("count", { type: "number", default: 10_000, describe: "how many cases" })
  .option("workers", { type: "number", describe: "parallel workers (default: one per CPU)" })
  .option("time-bound", { type: "number", default: 10_000, describe: "longest a plugin may take (ms)" })
  .option("plugins", { type: "string", describe: "only these plugins (comma-separated; default: all the binary has)" })
  .option("replay", { type: "boolean", default: true, describe: "also replay the kept regression cases" })
  .option("keep", { type: "boolean", default: false, describe: "keep failing cases in test/fuzz/regressions" })
  .strict()
  .parseSync();

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("make fuzz needs root (network namespaces)");
    return 2;
  }
  const plugins = argv.plugins?.split(",") ?? builtPlugins();
  const generated = generateCases(argv.seed, argv.start, argv.count, plugins);
  const kept = argv.replay ? regressionCases(plugins) : [];
  scratch = scratchDir("fuzz");
  const total = generated.length + kept.length;
  let lastPrinted = 0;
  const report: RunReport = await runFuzz([...kept, ...generated], {
    suiteDir: suiteDir(),
    scratchDir: scratch,
    timeBoundMs: argv["time-bound"],
    ...(argv.workers !== undefined ? { workers: argv.workers } : {}),
    onCaseDone: (done) => {
      if (done - lastPrinted >= 1000 || done === total) {
        lastPrinted = done;
        process.stderr.write(`fuzz: ${done}/${total} cases\n`);
      }
    },
  });
  const unmodelled = pluginsWithoutModel();
  console.log(
    formatFigures(
      report,
      `fuzz: seed ${argv.seed}, cases ${argv.start}..${argv.start + argv.count - 1}, plus ${kept.length} kept regression cases`,
    ),
  );
  if (unmodelled.length > 0) console.log(`plugins without a fuzz model (not fuzzed): ${unmodelled.join(", ")}`);
  if (report.failures.length > 0) {
    console.log(formatFailures(report));
    if (argv.keep) {
      for (const failure of report.failures)
        console.log(`kept ${keepCase(failure.fuzzCase, failure.problem.split("\n")[0] ?? "")}`);
    }
  }
  return report.failures.length === 0 ? 0 : 1;
}

let scratch: string | undefined;
const cleanUp = (): void => {
  deleteAllTestNetns();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  removeInstalledSuite();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
main()
  .then((status) => {
    process.exitCode = status;
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  })
  .finally(cleanUp);

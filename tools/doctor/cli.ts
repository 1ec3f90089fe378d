// `tscni doctor`: the command line. Only the flag definitions live here; the doctor is imported
// when the command runs.

import type { Argv, CommandModule } from "yargs";

import {
  type CommandRunner,
  DEFAULT_SUBNET_FILE,
  type StoreSelection,
  storeOptions,
  storeSelection,
} from "../../agent/cli";
import { type ArgvOf, DEFAULT_CONF_DIR, DEFAULT_DESTINATION } from "../install/cli";

export const DEFAULT_CACHE_DIR = "/var/lib/cni";

export interface DoctorCommandOptions extends StoreSelection {
  readonly netConfigPath: string | undefined;
  readonly subnetFile: string;
  readonly confDir: string;
  readonly binDirs: readonly string[];
  readonly cacheDir: string;
  readonly json: boolean;
}

export function doctorOptions(yargs: Argv) {
  return storeOptions(yargs)
    .option("net-config-path", {
      type: "string",
      describe: "flannel's net-conf.json (VNI, DirectRouting); without it, the store's config if any",
    })
    .option("subnet-file", { type: "string", default: DEFAULT_SUBNET_FILE, describe: "The agent's subnet.env" })
    .option("cni-conf-dir", { type: "string", default: DEFAULT_CONF_DIR, describe: "The runtime's CNI config dir" })
    .option("cni-bin-dir", {
      type: "string",
      array: true,
      default: [DEFAULT_DESTINATION],
      describe: "The runtime's CNI bin dirs (repeatable, or colon-separated as CNI_PATH)",
    })
    .option("cni-cache-dir", {
      type: "string",
      default: DEFAULT_CACHE_DIR,
      describe: "libcni's cache dir (results/ records each attachment's network namespace)",
    })
    .option("json", { type: "boolean", default: false, describe: "Print the report as JSON (schema: docs/doctor.md)" });
}

export function doctorCommand(runner: CommandRunner): CommandModule<object, ArgvOf<ReturnType<typeof doctorOptions>>> {
  return {
    command: "doctor",
    describe: "Inspect this node's CNI and overlay state (read-only) and check it for known failures",
    builder: doctorOptions,
    handler: (argv) => {
      const options: DoctorCommandOptions = {
        ...storeSelection(argv),
        netConfigPath: argv["net-config-path"],
        subnetFile: argv["subnet-file"],
        confDir: argv["cni-conf-dir"],
        binDirs: argv["cni-bin-dir"].flatMap((dir) => dir.split(":")).filter((d) => d !== ""),
        cacheDir: argv["cni-cache-dir"],
        json: argv.json,
      };
      runner(import("./run").then(({ runDoctor }) => runDoctor(options)));
    },
  };
}

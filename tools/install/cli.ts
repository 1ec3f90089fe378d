// `tscni install`: the installer's command line. Only the flag definitions live here; the
// installer is imported when the command runs.

import { basename } from "node:path";

import type { Argv, CommandModule } from "yargs";

import type { CommandRunner } from "../../agent/cli";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../../cni/log";

export const DEFAULT_DESTINATION = "/opt/cni/bin";
export const DEFAULT_CONF_DIR = "/etc/cni/net.d";

export interface InstallCommandOptions {
  /** The binary to copy; undefined when it cannot be known (not running as the compiled binary). */
  readonly source: string | undefined;
  readonly destination: string;
  readonly conflist: string | undefined;
  readonly confDir: string;
  readonly confName: string | undefined;
  readonly logLevel: LogLevel;
}

export function installOptions(yargs: Argv) {
  return yargs
    .option("dest", {
      type: "string",
      default: DEFAULT_DESTINATION,
      describe: "Directory for the binary and the plugin links (the host's CNI bin dir, e.g. /host/opt/cni/bin)",
    })
    .option("source", { type: "string", describe: "The binary to install (default: this one)" })
    .option("conflist", {
      type: "string",
      describe: "Also install this network configuration (e.g. a ConfigMap's cni-conf.json)",
    })
    .option("conf-dir", {
      type: "string",
      default: DEFAULT_CONF_DIR,
      describe: "Where --conflist goes (the host's CNI config dir)",
    })
    .option("conf-name", {
      type: "string",
      describe: "File name of the installed --conflist (default: its own name), e.g. 10-flannel.conflist",
    })
    .option("log-level", {
      choices: LOG_LEVELS,
      default: "info" as LogLevel,
      describe: "Log level (logs go to stderr)",
    })
    .check((argv) => {
      if (argv["conf-name"] !== undefined && argv.conflist === undefined)
        throw new Error("--conf-name needs --conflist");
      return true;
    });
}

/** The parsed arguments a yargs builder declares. */
export type ArgvOf<A> = A extends Argv<infer T> ? T : never;

export function installCommand(
  runner: CommandRunner,
  selfExecutable: string | undefined,
): CommandModule<object, ArgvOf<ReturnType<typeof installOptions>>> {
  return {
    command: "install",
    describe: "Copy this binary and one link per plugin into a CNI bin dir, atomically (a DaemonSet's init container)",
    builder: installOptions,
    handler: (argv) => {
      const conflist = argv.conflist;
      const options: InstallCommandOptions = {
        source: argv.source ?? selfExecutable,
        destination: argv.dest,
        conflist,
        confDir: argv["conf-dir"],
        confName: argv["conf-name"] ?? (conflist === undefined ? undefined : basename(conflist)),
        logLevel: isLogLevel(argv["log-level"]) ? argv["log-level"] : "info",
      };
      runner(import("./run").then(({ runInstall }) => runInstall(options)));
    },
  };
}

// The command line of the binary when it is not speaking CNI: --help, --version, and tools.
// yargs takes tens of milliseconds to load, so it is imported only on this path.

import yargs from "yargs";

import { agentCommand } from "../agent/cli";
import type { Io } from "../cni/io";
import { doctorCommand } from "../tools/doctor/cli";
import { installCommand } from "../tools/install/cli";
import { BINARY_NAME, PLUGINS } from "./plugins";

export interface CliInvocation {
  /** The name the binary was invoked as. */
  readonly name: string;
  readonly args: readonly string[];
  readonly io: Io;
  readonly version: string;
  /** The path of this binary when running as the compiled binary (what `install` copies). */
  readonly selfExecutable: string | undefined;
}

const CNI_USAGE = `As a CNI plugin, the runtime sets CNI_COMMAND (ADD, DEL, CHECK, VERSION, GC, STATUS),
CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH, and writes the network
configuration on stdin; the result or error is written on stdout as JSON.
Logging: TSCNI_LOG_LEVEL (error, warn, info, debug) and TSCNI_LOG_FILE, or the config's
"logLevel" and "logFile" keys; logs never go to stdout.`;

export async function runCli(invocation: CliInvocation): Promise<number> {
  const { io, name } = invocation;
  const known = name === BINARY_NAME || PLUGINS.has(name);
  let exitCode = 0;
  // A long-running command (the agent) hands over its completion; parsing returns before it.
  let running: Promise<number> | undefined;
  const hand = (run: Promise<number>): void => {
    running = run;
  };
  const parser = yargs([...invocation.args])
    .scriptName(name)
    .usage(
      known && name !== BINARY_NAME
        ? `$0: the ${name} CNI plugin of ${BINARY_NAME}\n\n${CNI_USAGE}`
        : `$0: CNI plugin suite (${[...PLUGINS.keys()].join(", ")}) in one binary\n\nInstall it with one link per plugin name; each link is a CNI plugin.\n${CNI_USAGE}`,
    )
    .command(
      "plugins",
      "List the plugin names this binary answers to, one per line",
      () => {},
      () => {
        for (const plugin of PLUGINS.keys()) io.stdout(plugin);
      },
    )
    .command(agentCommand(hand))
    .command(installCommand(hand, invocation.selfExecutable))
    .command(doctorCommand(hand))
    .version(invocation.version)
    .help()
    .strict()
    .wrap(null)
    .exitProcess(false)
    .fail((message, error) => {
      exitCode = 2;
      io.stderr(message ?? error?.message ?? "invalid command line");
      io.stderr(`Run "${name} --help" for usage.`);
    });
  if (!known) {
    io.stderr(
      `${BINARY_NAME}: unknown plugin name ${JSON.stringify(name)}; link this binary as one of: ${[...PLUGINS.keys()].join(", ")}`,
    );
    return 1;
  }
  const output = await new Promise<string>((resolve) => {
    parser.parse([...invocation.args], {}, (_error, _argv, text) => resolve(text));
  });
  if (output !== "") io.stdout(output.trimEnd());
  return running !== undefined && exitCode === 0 ? running : exitCode;
}

// The installer's process: logs what it did (JSON lines on stderr) and exits 0, or 1 with why.

import { BINARY_NAME, PLUGINS } from "../../cmd/plugins";
import { createLogSink } from "../../cni/log";
import type { InstallCommandOptions } from "./cli";
import { install } from "./installer";

export async function runInstall(options: InstallCommandOptions): Promise<number> {
  const sink = createLogSink({ level: options.logLevel, stderr: (line) => console.error(line) });
  const log = sink.logger;
  try {
    if (options.source === undefined) throw new Error("pass --source: this is not the compiled binary");
    const items = install(
      {
        source: options.source,
        destination: options.destination,
        binaryName: BINARY_NAME,
        plugins: [...PLUGINS.keys()],
        ...(options.conflist !== undefined && options.confName !== undefined
          ? { networkConfig: { source: options.conflist, confDir: options.confDir, name: options.confName } }
          : {}),
      },
      log,
    );
    const changed = items.filter((item) => item.action !== "unchanged").length;
    log.info(changed === 0 ? "everything was in place" : `installed ${changed} of ${items.length} files`, {
      destination: options.destination,
    });
    return 0;
  } catch (error: unknown) {
    log.error("install failed", { error: error instanceof Error ? error.message : String(error) });
    return 1;
  } finally {
    await sink.flush();
  }
}

// The libcni-based driver (test/driver, cnitool-compatible) run inside a node's namespace, with its
// own config directory and result cache, so nothing is read from or written to the machine's
// /etc/cni/net.d or /var/lib/cni.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Netns } from "./netns";
import { run, runAsync, type RunResult } from "./run";

export type DriverVerb = "add" | "check" | "del";

export class CniDriver {
  /** The driver's executable (test/driver/bin/cnidriver). */
  readonly binary: string;
  readonly root: string;
  readonly confDir: string;
  readonly cacheDir: string;

  /** Uses `root` (which must exist) for the config directory and the result cache. */
  constructor(binary: string, root: string) {
    this.binary = binary;
    this.root = root;
    this.confDir = join(root, "net.d");
    this.cacheDir = join(root, "cache");
    mkdirSync(this.confDir);
  }

  /** Writes a config file (a .conflist or a legacy single-plugin .conf). */
  writeConfig(fileName: string, config: unknown): void {
    writeFileSync(join(this.confDir, fileName), JSON.stringify(config, null, 2));
  }

  /** `cnidriver <verb> <network> <netns>` inside `host`. */
  run(host: Netns, verb: DriverVerb, network: string, netns: string, env: Readonly<Record<string, string>>): RunResult {
    const { args, options } = this.invocation(host, verb, network, netns, env);
    return run("ip", args, options);
  }

  /** `run` without blocking the event loop, for several runs in flight (the soak). */
  runAsync(
    host: Netns,
    verb: DriverVerb,
    network: string,
    netns: string,
    env: Readonly<Record<string, string>>,
  ): Promise<RunResult> {
    const { args, options } = this.invocation(host, verb, network, netns, env);
    return runAsync("ip", args, { ...options, timeout: 60_000 });
  }

  private invocation(
    host: Netns,
    verb: DriverVerb,
    network: string,
    netns: string,
    env: Readonly<Record<string, string>>,
  ) {
    return {
      args: ["netns", "exec", host.name, this.binary, verb, network, netns],
      options: {
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NETCONFPATH: this.confDir, CNI_CACHE_DIR: this.cacheDir, ...env },
      },
    };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

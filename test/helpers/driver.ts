// The libcni-based driver (test/driver, cnitool-compatible) run inside a test's host namespace, with
// its own config directory and result cache so nothing is read from or written to the node's
// /etc/cni/net.d or /var/lib/cni.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { TestNetns } from "./netns";
import { run, runAsync, type RunResult } from "./run";
import { DRIVER, scratchDir } from "./suite";

export class DriverWorkspace {
  readonly root: string;
  readonly confDir: string;
  readonly cacheDir: string;

  constructor() {
    this.root = scratchDir("driver");
    this.confDir = join(this.root, "net.d");
    this.cacheDir = join(this.root, "cache");
    mkdirSync(this.confDir);
  }

  /** Writes a config file (a .conflist or a legacy single-plugin .conf). */
  writeConfig(fileName: string, config: unknown): void {
    writeFileSync(join(this.confDir, fileName), JSON.stringify(config, null, 2));
  }

  /** `cnidriver <verb> <network> <netns>` inside `host`. */
  run(
    host: TestNetns,
    verb: "add" | "check" | "del",
    network: string,
    netns: string,
    env: Readonly<Record<string, string>>,
  ): RunResult {
    return run("ip", ["netns", "exec", host.name, DRIVER, verb, network, netns], { env: this.env(env) });
  }

  /** `run` without blocking, for several runs in flight. */
  runAsync(
    host: TestNetns,
    verb: "add" | "check" | "del",
    network: string,
    netns: string,
    env: Readonly<Record<string, string>>,
  ): Promise<RunResult> {
    return runAsync("ip", ["netns", "exec", host.name, DRIVER, verb, network, netns], { env: this.env(env) });
  }

  private env(extra: Readonly<Record<string, string>>): Record<string, string> {
    return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NETCONFPATH: this.confDir, CNI_CACHE_DIR: this.cacheDir, ...extra };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

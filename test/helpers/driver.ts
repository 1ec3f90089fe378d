// The libcni driver for tests: the lab's driver (netlab/cni-driver.ts) in a scratch directory.

import { CniDriver } from "../../netlab/cni-driver";
import type { TestNetns } from "./netns";
import { runAsync, type RunResult } from "./run";
import { DRIVER, scratchDir } from "./suite";

export class DriverWorkspace extends CniDriver {
  constructor() {
    super(DRIVER, scratchDir("driver"));
  }

  /** `run` without blocking the event loop, for several runs in flight (the soak). */
  runAsync(
    host: TestNetns,
    verb: "add" | "check" | "del",
    network: string,
    netns: string,
    env: Readonly<Record<string, string>>,
  ): Promise<RunResult> {
    return runAsync("ip", ["netns", "exec", host.name, this.binary, verb, network, netns], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NETCONFPATH: this.confDir, CNI_CACHE_DIR: this.cacheDir, ...env },
      timeout: 60_000,
    });
  }
}

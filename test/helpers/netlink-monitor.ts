// `ip monitor` in a test namespace: every route, neighbour and (VXLAN) FDB change the kernel
// announces while it runs, so a test can say that nothing was deleted, not only that the state
// looks the same before and after. The process is killed by PID in stop().

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

import type { Netns } from "../../netlab/netns";

/** A route no test uses, added and removed until the monitor reports it: then it is subscribed. */
const MARKER = "198.51.100.0/24";

export class NetlinkMonitor {
  private readonly child: ChildProcess;
  private output = "";

  private constructor(ns: Netns) {
    // `neigh` covers the FDB too: the kernel announces VXLAN FDB entries as AF_BRIDGE neighbours.
    this.child = spawn("ip", ["-n", ns.name, "monitor", "route", "neigh"], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk));
  }

  /** Starts monitoring `ns` and returns once the monitor sees changes. */
  static async start(ns: Netns): Promise<NetlinkMonitor> {
    const monitor = new NetlinkMonitor(ns);
    try {
      // The process subscribes some time after it starts: the marker goes in and out until it is seen.
      const deadline = Date.now() + 5_000;
      while (!monitor.output.includes(MARKER)) {
        if (Date.now() > deadline) throw new Error(`ip monitor in ${ns.name} saw nothing`);
        ns.ip("route", "add", "blackhole", MARKER);
        ns.ip("route", "del", "blackhole", MARKER);
        await sleep(20);
      }
    } catch (error: unknown) {
      await monitor.stop();
      throw error;
    }
    return monitor;
  }

  /** The announcements so far that mention `device`, without the marker's. */
  linesAbout(device: string): string[] {
    return this.output.split("\n").filter((line) => line.includes(`dev ${device} `) && !line.includes(MARKER));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    if (this.child.pid !== undefined) process.kill(this.child.pid, "SIGTERM");
    await exited;
  }
}

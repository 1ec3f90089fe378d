// The routes a namespace's kernel adds, as they are added: `ip -ts monitor route` inside it. The
// kernel multicasts RTM_NEWROUTE to listeners while it inserts a route, and ip stamps each message
// with the wall clock as it reads it, so a route's time is within scheduling noise of its insertion,
// without a polling interval's quantisation or the load of repeated dumps.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";

import type { TestNetns } from "../../test/helpers/netns";

/** The wall clock ip's timestamps use (epoch milliseconds, sub-millisecond resolution). */
export const wallClock = (): number => performance.timeOrigin + performance.now();

/** `[2026-01-02T03:04:05.123456] 10.1.1.0/24 via ...` -> the new route and the epoch milliseconds. */
function parseMonitorLine(line: string): { dst: string; at: number } | undefined {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\] (?!Deleted )(\S+) /.exec(line);
  if (match === null) return undefined;
  const [, localTime = "", fraction = "0", dst = ""] = match;
  // ip prints local time without a zone; Date reads such a string as local time too.
  return { dst, at: new Date(localTime).getTime() + Number(`0.${fraction}`) * 1000 };
}

/** The first time each route appeared, from `ip -ts monitor route` in the namespace. */
export class RouteMonitor {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();

  private constructor(netns: string) {
    this.child = spawn("ip", ["-n", netns, "-ts", "monitor", "route"]);
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const route = parseMonitorLine(line);
      if (route === undefined || this.seen.has(route.dst)) return;
      this.seen.set(route.dst, route.at);
      this.waiters.get(route.dst)?.();
    });
  }

  /** Starts a monitor in `ns` and returns once it is listening (it saw a route change made for it). */
  static async start(ns: TestNetns): Promise<RouteMonitor> {
    const monitor = new RouteMonitor(ns.name);
    const probe = "198.51.100.0/24"; // TEST-NET-2, on the namespace's loopback
    try {
      for (let attempt = 1; ; attempt++) {
        ns.ip("route", "replace", probe, "dev", "lo");
        const seen = await monitor.appeared(probe, 200).catch(() => undefined);
        ns.ip("route", "del", probe, "dev", "lo");
        if (seen !== undefined) return monitor;
        if (attempt === 50) throw new Error("ip monitor does not report route changes");
      }
    } catch (error: unknown) {
      monitor.stop();
      throw error;
    }
  }

  /** When the route to `dst` appeared; rejects after `timeoutMs`. */
  async appeared(dst: string, timeoutMs: number): Promise<number> {
    const known = this.seen.get(dst);
    if (known !== undefined) return known;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no route to ${dst} within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.set(dst, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      this.waiters.delete(dst);
    }
    return this.seen.get(dst) ?? NaN;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, "SIGKILL");
  }
}

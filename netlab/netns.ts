// Network namespaces made by the tests and the demo. Each group names its namespaces with one
// prefix (the tests' carries their PID, the demo's too), tracks them, and removes them all at the
// end, also those that escaped tracking, so a run never leaves a namespace behind.

import { run, runOk } from "./run";

export class Netns {
  readonly name: string;
  readonly path: string;
  private readonly onDelete: (ns: Netns) => boolean;

  constructor(name: string, onDelete: (ns: Netns) => boolean) {
    this.name = name;
    this.path = `/run/netns/${name}`;
    this.onDelete = onDelete;
  }

  /** Runs `ip -n <ns> ...` and returns stdout. */
  ip(...args: string[]): string {
    return runOk("ip", ["-n", this.name, ...args]);
  }

  /** Runs `ip -n <ns> -j ...` and parses the JSON (the independent oracle for assertions). */
  ipJson<T = unknown>(...args: string[]): T {
    const out = runOk("ip", ["-n", this.name, "-j", ...args]).trim();
    return (out === "" ? [] : JSON.parse(out)) as T;
  }

  /** Runs `bridge -n <ns> -j ...` and parses the JSON. */
  bridgeJson<T = unknown>(...args: string[]): T {
    const out = runOk("bridge", ["-n", this.name, "-j", ...args]).trim();
    return (out === "" ? [] : JSON.parse(out)) as T;
  }

  /** Reads a sysctl inside the namespace, e.g. "net.ipv4.ip_forward". */
  sysctl(key: string): string {
    return runOk("ip", ["netns", "exec", this.name, "sysctl", "-n", key]).trim();
  }

  /** Writes a sysctl inside the namespace; throws when it cannot. */
  setSysctl(key: string, value: string): void {
    runOk("ip", ["netns", "exec", this.name, "sysctl", "-qw", `${key}=${value}`]);
  }

  /** Runs a command inside the namespace (`ip netns exec`). */
  exec(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}) {
    return run("ip", ["netns", "exec", this.name, command, ...args], options);
  }

  delete(): void {
    if (!this.onDelete(this)) return;
    run("ip", ["netns", "delete", this.name]);
  }
}

export class NetnsGroup {
  readonly prefix: string;
  private counter = 0;
  private readonly live = new Set<Netns>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Creates a namespace with `lo` up, as a runtime would hand it over (or down with loUp false). */
  create(label = "ns", options: { loUp?: boolean } = {}): Netns {
    const ns = new Netns(`${this.prefix}${label}-${++this.counter}`, (deleted) => this.live.delete(deleted));
    runOk("ip", ["netns", "add", ns.name]);
    this.live.add(ns);
    if (options.loUp === true) ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** The names of this group's namespaces that exist now, tracked or not. */
  existing(): string[] {
    return run("ip", ["netns", "list"])
      .stdout.split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((name) => name.startsWith(this.prefix));
  }

  /** Removes every namespace of the group, also those that escaped tracking (made by a helper process). */
  deleteAll(): void {
    for (const ns of [...this.live]) ns.delete();
    for (const name of this.existing()) run("ip", ["netns", "delete", name]);
  }
}

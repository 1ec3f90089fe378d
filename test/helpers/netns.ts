// Network namespaces made by tests. Every test works inside namespaces it created (a "host" one
// standing in for the node, pod ones for containers) and never touches the root namespace. Names
// carry the test process's PID so leftovers of this run can be found and removed.

import { run, runOk } from "./run";

const PREFIX = `tscni-t${process.pid}-`;
let counter = 0;
const live = new Set<TestNetns>();

export class TestNetns {
  readonly name: string;
  readonly path: string;

  private constructor(name: string) {
    this.name = name;
    this.path = `/run/netns/${name}`;
  }

  /** Creates a namespace with `lo` up, as a runtime would hand it over (or down with loUp false). */
  static create(label = "ns", options: { loUp?: boolean } = {}): TestNetns {
    const ns = new TestNetns(`${PREFIX}${label}-${++counter}`);
    runOk("ip", ["netns", "add", ns.name]);
    live.add(ns);
    if (options.loUp === true) ns.ip("link", "set", "lo", "up");
    return ns;
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

  /** Runs a command inside the namespace (`ip netns exec`). */
  exec(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}) {
    return run("ip", ["netns", "exec", this.name, command, ...args], options);
  }

  delete(): void {
    if (!live.delete(this)) return;
    run("ip", ["netns", "delete", this.name]);
  }
}

/** Removes every namespace this process created and has not deleted yet. */
export function deleteAllTestNetns(): void {
  for (const ns of [...live]) ns.delete();
  // Namespaces of this PID that escaped tracking (e.g. created by a helper process).
  for (const name of run("ip", ["netns", "list"])
    .stdout.split("\n")
    .map((l) => l.split(" ")[0] ?? "")) {
    if (name.startsWith(PREFIX)) run("ip", ["netns", "delete", name]);
  }
}

// Cgroups that a test's containers run in. Tests give each runtime a top-level cgroup of their own
// (podman's --cgroup-parent, ctr's --cgroup), so what a failed test left running is found by PID in
// that cgroup, and the runtime's empty directories are removed afterwards, in every hierarchy (this
// machine kind mounts cgroup v1 controllers next to a cgroup v2 tree).

import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";

/** Mount points of cgroup (v1) and cgroup2 file systems. */
function hierarchies(): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .filter((fields) => fields[2] === "cgroup" || fields[2] === "cgroup2")
    .map((fields) => fields[1] ?? "");
}

/** Directories of cgroup `name` (e.g. "/tscni-t123-podman") and of its descendants, deepest first. */
function cgroupDirs(name: string): string[] {
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
    }
    dirs.push(dir);
  };
  for (const mount of hierarchies()) {
    const top = join(mount, name);
    if (existsSync(top)) walk(top);
  }
  return dirs;
}

/** PIDs of the processes in cgroup `name` or below. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(name)) {
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
      if (line !== "") pids.add(Number(line));
    }
  }
  return [...pids];
}

/** Kills what still runs in cgroup `name`, then removes its directories; the names of those left. */
export function removeCgroup(name: string): string[] {
  for (const pid of cgroupPids(name)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  const left: string[] = [];
  for (const dir of cgroupDirs(name)) {
    // A killed process leaves its cgroup a moment after the signal. Synchronous, so that an exit
    // hook can use it too.
    let removed = false;
    for (let attempt = 0; attempt < 50 && !removed; attempt++) {
      try {
        rmdirSync(dir);
        removed = true;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    if (!removed) left.push(dir);
  }
  return left;
}

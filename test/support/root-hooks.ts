// Root hooks for the integration and end-to-end phases: they need root (namespaces, netlink), they
// must leave nothing behind even when a test fails half-way, and they must never change the machine
// itself. The last is checked once per phase: the root network namespace and the node's CNI and
// flannel directories are read before the first test and compared after the last one (a failing
// root hook counts as a failed test, so a phase that changed the machine cannot pass).

import { deepStrictEqual } from "node:assert";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { deleteAllTestNetns } from "../helpers/netns";
import { rootNetnsSnapshot, type RootNetnsSnapshot } from "../helpers/root-netns";
import { removeInstalledSuite } from "../helpers/suite";

/** Where a plugin or the agent would write on a real node; tests must use scratch directories. */
const NODE_DIRECTORIES = [
  "/etc/cni/net.d",
  "/opt/cni/bin",
  "/var/lib/cni",
  "/run/flannel",
  "/var/lib/tscni",
  "/etc/kube-flannel",
];

let rootBefore: RootNetnsSnapshot | undefined;
let directoriesBefore: Record<string, readonly string[]> | undefined;

/** Every path under each directory (recursively); absent directories are recorded as such. */
function listNodeDirectories(): Record<string, readonly string[]> {
  const listing = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? [path, ...listing(path)] : [path];
    });
  return Object.fromEntries(NODE_DIRECTORIES.map((dir) => [dir, existsSync(dir) ? listing(dir).sort() : ["(absent)"]]));
}

export const mochaHooks = {
  beforeAll(): void {
    if (process.getuid?.() !== 0) {
      throw new Error("integration and end-to-end tests need root: run them with sudo (make test does)");
    }
    rootBefore = rootNetnsSnapshot();
    directoriesBefore = listNodeDirectories();
  },
  afterAll(): void {
    deleteAllTestNetns();
    removeInstalledSuite();
    if (rootBefore !== undefined) {
      deepStrictEqual(rootNetnsSnapshot(), rootBefore, "the tests changed the root network namespace");
    }
    if (directoriesBefore !== undefined) {
      deepStrictEqual(listNodeDirectories(), directoriesBefore, "the tests changed the node's CNI directories");
    }
  },
};

// The compiled suite as a runtime sees it: `make install` into a temporary directory (the binary
// plus one link per plugin), done once per test run and removed at the end.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

import { runOk } from "./run";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const BUILT_BINARY = join(REPO_ROOT, "dist/tscni");
export const DRIVER = join(REPO_ROOT, "test/driver/bin/cnidriver");
export const REFERENCE_PLUGINS = "/usr/lib/cni";

let installed: string | undefined;

/** A fresh directory under build/ (not /tmp, which some tests replace in a private mount namespace). */
export function scratchDir(label: string): string {
  mkdirSync(join(REPO_ROOT, "build"), { recursive: true });
  return mkdtempSync(join(REPO_ROOT, "build", `${label}-`));
}

/** The directory holding the installed binary and its plugin links (a CNI_PATH entry). */
export function suiteDir(): string {
  if (installed === undefined) {
    const dir = scratchDir("suite");
    runOk("make", ["-s", "-C", REPO_ROOT, "install", `PREFIX=${dir}`]);
    installed = dir;
  }
  return installed;
}

export function pluginPath(name: string): string {
  return join(suiteDir(), name);
}

export function removeInstalledSuite(): void {
  if (installed !== undefined) rmSync(installed, { recursive: true, force: true });
  installed = undefined;
}

// The compiled suite as a runtime sees it: `make install` into a temporary directory (the binary
// plus one link per plugin), done once per test run and removed at the end.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { runOk } from "./run";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const BUILT_BINARY = join(REPO_ROOT, "dist/tscni");
export const DRIVER = join(REPO_ROOT, "test/driver/bin/cnidriver");
export const REFERENCE_PLUGINS = "/usr/lib/cni";

let installed: string | undefined;

/** The directory holding the installed binary and its plugin links (a CNI_PATH entry). */
export function suiteDir(): string {
  if (installed === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "tscni-bin-"));
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

// `tscni install`: puts the binary, one link per plugin name and optionally a network
// configuration into host directories, as a DaemonSet's init container does on every node.
//
// Every file is written under a temporary name in its target directory and renamed over the old
// one. A plugin that is running keeps executing the old file (its inode lives on until it exits),
// a plugin started meanwhile finds the old file or the new one, never a partial copy, and nothing
// ever opens a running executable for writing, which would fail with ETXTBSY ("text file busy").
// Links are replaced the same way. What is already in place is left alone, so running the
// installer again changes nothing.

import {
  chmodSync,
  closeSync,
  copyFileSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

import { isObject } from "../../cni/json";
import type { Logger } from "../../cni/log";
import { isConflistFile, NetworkConfigFileError, parseNetworkConfigFile } from "../network-config-files";

export const BINARY_MODE = 0o755;
export const CONFIG_MODE = 0o644;

export interface InstallRequest {
  /** The binary to install (the running one). */
  readonly source: string;
  readonly destination: string;
  readonly binaryName: string;
  readonly plugins: readonly string[];
  /** A network configuration to install as `<confDir>/<name>`. */
  readonly networkConfig?: { readonly source: string; readonly confDir: string; readonly name: string };
}

export type InstallAction = "created" | "replaced" | "unchanged";

export interface InstalledItem {
  readonly path: string;
  readonly action: InstallAction;
  /** For a replaced file: what was there (a regular file, a link to elsewhere...). */
  readonly previous?: string;
}

/** Installs everything; throws on the first failure (what was installed before stays, whole). */
export function install(request: InstallRequest, log: Logger): InstalledItem[] {
  // The configuration is checked first: a node must not get a binary with a config it cannot read.
  const config =
    request.networkConfig === undefined ? undefined : { ...request.networkConfig, text: readNetworkConfig(request) };
  const items: InstalledItem[] = [];
  const record = (item: InstalledItem): void => {
    items.push(item);
    log.info(`${item.action} ${item.path}`, item.previous === undefined ? {} : { previous: item.previous });
  };
  ensureDirectory(request.destination);
  record(installBinary(request.source, join(request.destination, request.binaryName)));
  for (const plugin of request.plugins) {
    record(installLink(join(request.destination, plugin), request.binaryName));
  }
  if (config !== undefined) {
    ensureDirectory(config.confDir);
    record(installFile(join(config.confDir, config.name), config.text));
  }
  syncDirectory(request.destination);
  if (config !== undefined) syncDirectory(config.confDir);
  return items;
}

function readNetworkConfig(request: InstallRequest): string {
  const { source, name } = request.networkConfig!;
  if (name === "" || name.includes("/")) throw new NetworkConfigFileError(name, "not a file name");
  const text = readFileSync(source, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new NetworkConfigFileError(source, `not JSON (${(error as Error).message})`, { cause: error });
  }
  // Checked under its installed name: the extension decides how libcni reads it.
  const list = isObject(json) && json["plugins"] !== undefined;
  if (list !== isConflistFile(name)) {
    throw new NetworkConfigFileError(
      source,
      list ? `a plugin chain must be installed as *.conflist, not ${name}` : `a single plugin cannot be named ${name}`,
    );
  }
  parseNetworkConfigFile(name, text);
  return text;
}

/** Creates the directory and missing parents, 0755 whatever the umask (existing ones are left alone). */
function ensureDirectory(path: string): void {
  const firstCreated = mkdirSync(path, { recursive: true, mode: 0o755 });
  if (firstCreated === undefined) return;
  for (let dir = path; dir.length >= firstCreated.length; dir = dirname(dir)) chmodSync(dir, 0o755);
}

/** A temporary name in the target's directory: a rename within one file system is atomic. */
const temporaryFor = (path: string): string => {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${process.pid}.tmp`;
};

function installBinary(source: string, target: string): InstalledItem {
  const previous = describeExisting(target);
  if (previous === "file" && (statSync(target).mode & 0o7777) === BINARY_MODE && sameContent(source, target)) {
    return { path: target, action: "unchanged" };
  }
  replaceWith(target, (temporary) => {
    copyFileSync(source, temporary, constants.COPYFILE_EXCL);
    chmodSync(temporary, BINARY_MODE);
    syncFile(temporary);
  });
  return outcome(target, previous);
}

function installLink(target: string, linkTo: string): InstalledItem {
  const previous = describeExisting(target);
  if (previous === `link to ${linkTo}`) return { path: target, action: "unchanged" };
  replaceWith(target, (temporary) => symlinkSync(linkTo, temporary));
  return outcome(target, previous);
}

function installFile(target: string, text: string): InstalledItem {
  const previous = describeExisting(target);
  if (previous === "file" && readFileSync(target, "utf8") === text) return { path: target, action: "unchanged" };
  replaceWith(target, (temporary) => {
    writeFileSync(temporary, text, { mode: CONFIG_MODE, flag: "wx", flush: true });
    chmodSync(temporary, CONFIG_MODE); // the umask may have narrowed it
  });
  return outcome(target, previous);
}

const outcome = (path: string, previous: string | undefined): InstalledItem =>
  previous === undefined ? { path, action: "created" } : { path, action: "replaced", previous };

/** Creates the new file under a temporary name (left by nobody: removed first) and renames it over `target`. */
function replaceWith(target: string, create: (temporary: string) => void): void {
  const temporary = temporaryFor(target);
  rmSync(temporary, { force: true });
  try {
    create(temporary);
    renameSync(temporary, target);
  } catch (error: unknown) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** "file", "link to <target>", "directory"...; undefined when nothing is there. */
function describeExisting(path: string): string | undefined {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (stats.isSymbolicLink()) return `link to ${readlinkSync(path)}`;
  if (stats.isFile()) return "file";
  return stats.isDirectory() ? "directory" : "special file";
}

const CHUNK = 1 << 20;

/** Byte-for-byte equality, read in chunks (the binary is over 100 MB). */
function sameContent(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const [fdA, fdB] = [openSync(a, "r"), openSync(b, "r")];
  try {
    const [bufferA, bufferB] = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
    for (;;) {
      const read = readSync(fdA, bufferA, 0, CHUNK, null);
      if (read !== readSync(fdB, bufferB, 0, CHUNK, null)) return false;
      if (read === 0) return true;
      if (!bufferA.subarray(0, read).equals(bufferB.subarray(0, read))) return false;
    }
  } finally {
    closeSync(fdA);
    closeSync(fdB);
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the renames durable: a node that loses power keeps the old or the new files. */
function syncDirectory(path: string): void {
  syncFile(path);
}

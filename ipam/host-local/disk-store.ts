// The reservations of one network on disk, in the reference host-local's format, so both plugins
// can share a directory:
//
//   <dataDir>/<network>/lock                 flock(LOCK_EX) for the duration of every operation
//   <dataDir>/<network>/<ip>                 "<containerID>\r\n<ifname>", no trailing newline
//                                            (older reference versions wrote "<containerID>")
//   <dataDir>/<network>/last_reserved_ip.<N> the address last reserved from range set N, replaced
//                                            through last_reserved_ip.<N>.tmp and a rename
//
// A writer killed mid-write (a runtime's timeout SIGKILLs the plugin) leaves debris: a reservation
// file created but still empty (it names no owner, so no DEL would ever release it) or a marker's
// temporary file. Every writer holds the lock, so whoever holds it next knows the debris is dead
// and removes it. The reference reads neither as anything: an empty file matches no container, and
// names under "last_reserved_ip." are skipped.
//
// What we create is private (directories 0700, files 0600; the reference uses 0755/0644). Paths
// are built from the data dir, the network name (validated by the skeleton) and canonical address
// text only. Calls are synchronous: one process per pod, nothing else to run meanwhile, and fewer
// system calls than a promise per file.

import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";

import type { Attachment } from "../../cni/plugin";
import { hasErrorCode, LOCK_EX } from "../../native/binding";
import { loadNative } from "../../native/loader";
import type { Reservation, Store } from "./allocator";
import type { StoreLocation } from "./config";

const LOCK_FILE = "lock";
const LAST_RESERVED_PREFIX = "last_reserved_ip.";
const TEMPORARY_SUFFIX = ".tmp";
const LINE_BREAK = "\r\n";
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;
const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY } = constants;

/** The data dir cannot be used (created, locked, listed or written). */
export class DataDirError extends Error {
  readonly directory: string;

  constructor(directory: string, action: string, cause: unknown) {
    super(`cannot ${action} ${directory}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "DataDirError";
    this.directory = directory;
  }
}

export const networkDirectory = (location: StoreLocation): string => `${location.dataDir}/${location.network}`;

/**
 * Opens and locks the network's directory. With `create` false, a directory that does not exist
 * gives undefined (nothing was ever reserved) and nothing is created.
 */
export async function openDiskStore(location: StoreLocation, create: boolean): Promise<DiskStore | undefined> {
  const directory = networkDirectory(location);
  const lockPath = `${directory}/${LOCK_FILE}`;
  const openLock = (): number => openSync(lockPath, O_RDONLY | O_CREAT | O_NOFOLLOW, FILE_MODE);
  let fd: number;
  try {
    try {
      fd = openLock();
    } catch (error: unknown) {
      if (!hasErrorCode(error, "ENOENT")) throw error;
      if (!create) return undefined;
      mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });
      fd = openLock();
    }
  } catch (error: unknown) {
    throw new DataDirError(directory, create ? "create or open" : "open", error);
  }
  try {
    (await loadNative()).flock(fd, LOCK_EX);
  } catch (error: unknown) {
    closeSync(fd);
    throw new DataDirError(directory, "lock", error);
  }
  return new DiskStore(directory, fd);
}

export class DiskStore implements Store {
  readonly directory: string;
  private lockFd: number | undefined;

  constructor(directory: string, lockFd: number) {
    this.directory = directory;
    this.lockFd = lockFd;
  }

  /**
   * Every file but the lock and the last-reserved markers, as the reference walks them. Entries are
   * not told apart by type (some filesystems report none): what cannot be read is skipped. Debris of
   * a killed writer is removed on the way (best effort: a read-only directory keeps it).
   */
  reservations(): Reservation[] {
    const { reservations, debris } = scanDirectory(this.directory);
    for (const name of debris) {
      try {
        unlinkSync(this.path(name));
      } catch {
        // Left for the next holder of the lock; it is no reservation either way.
      }
    }
    return reservations;
  }

  reserve(address: string, owner: Attachment): boolean {
    const path = this.path(address);
    let fd: number;
    try {
      fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL, FILE_MODE);
    } catch (error: unknown) {
      if (hasErrorCode(error, "EEXIST")) return false;
      throw new DataDirError(this.directory, `reserve ${address} in`, error);
    }
    try {
      writeAndClose(fd, `${owner.containerId}${LINE_BREAK}${owner.ifName}`);
    } catch (error: unknown) {
      removeIfPresent(path);
      throw new DataDirError(this.directory, `write the reservation of ${address} in`, error);
    }
    return true;
  }

  release(address: string): void {
    try {
      unlinkSync(this.path(address));
    } catch (error: unknown) {
      if (!hasErrorCode(error, "ENOENT")) throw new DataDirError(this.directory, `release ${address} in`, error);
    }
  }

  lastReserved(index: number): string | undefined {
    return this.readIfPresent(`${LAST_RESERVED_PREFIX}${index}`);
  }

  /** Replaces the marker whole (a truncated marker would send round-robin back to the range start). */
  recordLastReserved(index: number, address: string): void {
    const path = this.path(`${LAST_RESERVED_PREFIX}${index}`);
    const temporary = `${path}${TEMPORARY_SUFFIX}`;
    try {
      writeAndClose(openSync(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, FILE_MODE), address);
      renameSync(temporary, path);
    } catch (error: unknown) {
      removeIfPresent(temporary);
      throw new DataDirError(this.directory, `record the last reserved address in`, error);
    }
  }

  /** Unlocks. */
  close(): void {
    if (this.lockFd === undefined) return;
    closeSync(this.lockFd);
    this.lockFd = undefined;
  }

  private path(name: string): string {
    return `${this.directory}/${name}`;
  }

  private readIfPresent(name: string): string | undefined {
    return readIfPresent(this.path(name));
  }
}

/**
 * The reservations in a network's directory, read without its lock (a snapshot for DiskStore,
 * which holds the lock, and for read-only tools such as `tscni doctor`).
 */
export function readReservations(directory: string): Reservation[] {
  return scanDirectory(directory).reservations;
}

/** The reservations, and the names of the debris killed writers left (see the top of this file). */
function scanDirectory(directory: string): { reservations: Reservation[]; debris: string[] } {
  let names;
  try {
    names = readdirSync(directory);
  } catch (error: unknown) {
    throw new DataDirError(directory, "list", error);
  }
  const reservations: Reservation[] = [];
  const debris: string[] = [];
  for (const name of names) {
    if (name === LOCK_FILE) continue;
    if (name.startsWith(LAST_RESERVED_PREFIX)) {
      if (name.endsWith(TEMPORARY_SUFFIX)) debris.push(name);
      continue;
    }
    const content = readIfPresent(`${directory}/${name}`);
    if (content === undefined) continue;
    if (content.trim() === "") debris.push(name);
    else reservations.push(parseReservation(name, content));
  }
  return { reservations, debris };
}

/** The file's text, or undefined when it is gone or unreadable (the reference skips those too). */
function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function writeAndClose(fd: number, content: string): void {
  try {
    const bytes = Buffer.from(content, "utf8");
    const written = writeSync(fd, bytes);
    // Regular files write short only when the device is full: the caller removes the file.
    if (written !== bytes.length) throw new Error(`short write (${written} of ${bytes.length} bytes)`);
  } finally {
    closeSync(fd);
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or the directory went read-only: the caller reports the original failure.
  }
}

/** Whitespace around the content is ignored, as the reference trims it. */
export function parseReservation(address: string, content: string): Reservation {
  const text = content.trim();
  const separator = text.indexOf(LINE_BREAK);
  return separator === -1
    ? { address, containerId: text, ifName: undefined }
    : { address, containerId: text.slice(0, separator), ifName: text.slice(separator + LINE_BREAK.length) };
}

/**
 * STATUS: why the network's directory could not be used by ADD, or undefined when it could. Nothing
 * is created: a missing directory is fine when its nearest existing ancestor is writable.
 */
export function dataDirProblem(location: StoreLocation): string | undefined {
  let path = networkDirectory(location);
  for (;;) {
    try {
      if (!statSync(path).isDirectory()) return `${path} is not a directory`;
      accessSync(path, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (error: unknown) {
      if (!hasErrorCode(error, "ENOENT")) return `${path}: ${error instanceof Error ? error.message : String(error)}`;
    }
    const parent = parentDirectory(path);
    if (parent === path) return `${path} does not exist`;
    path = parent;
  }
}

function parentDirectory(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  const slash = trimmed.lastIndexOf("/");
  if (slash === -1) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

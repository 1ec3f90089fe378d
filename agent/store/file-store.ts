// The embedded lease store: a directory, needing nothing running, shared by every agent on a host
// (development, tests, the demo). It mirrors etcd's layout:
//
//   <directory>/config            the network config (net-conf.json), optional
//   <directory>/subnets/<key>     one lease: flannel's JSON value plus "Expiration" (RFC 3339; absent
//                                 for a reservation)
//   <directory>/lock              flock()ed around every write
//
// Writes go to a temporary file renamed over the lease, so a reader sees the old or the new file,
// never part of one. Every writer holds the lock, which makes create-if-absent atomic across
// processes, and removes expired leases and temporary files left by a writer that died.

import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";

import { JsonReader, JsonShapeError } from "../../cni/json";
import type { Logger } from "../../cni/log";
import { hasErrorCode, LOCK_EX, LOCK_NB } from "../../native/binding";
import { loadNative } from "../../native/loader";
import type { Lease, LeaseAttrs, LeaseEvent, LeaseStore, LeaseSubnets } from "../lease";
import { sleep } from "../sleep";
import { LeaseConflictError, LeaseStoreError } from "./errors";
import { watchByPolling } from "./file-watch";
import { decodeLeaseAttrs, encodeLeaseAttrs, isSameNode, leaseKey, subnetsOfKey } from "./lease-codec";

export interface FileStoreOptions {
  readonly directory: string;
  readonly logger?: Logger;
  /** How often a watch re-reads the directory besides change notifications (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** How long a writer waits for the lock before failing (default 10 s). */
  readonly lockTimeoutMs?: number;
}

const TEMP_SUFFIX = ".tmp";

export async function openFileLeaseStore(options: FileStoreOptions): Promise<LeaseStore> {
  await mkdir(join(options.directory, "subnets"), { recursive: true, mode: 0o755 });
  return new FileLeaseStore(options);
}

class FileLeaseStore implements LeaseStore {
  private readonly options: FileStoreOptions;
  private readonly subnetsDir: string;

  constructor(options: FileStoreOptions) {
    this.options = options;
    this.subnetsDir = join(options.directory, "subnets");
  }

  async readNetworkConfig(): Promise<string | undefined> {
    try {
      return await readFile(join(this.options.directory, "config"), "utf8");
    } catch (error: unknown) {
      if (hasErrorCode(error, "ENOENT")) return undefined;
      throw new LeaseStoreError(`cannot read the network config in ${this.options.directory}`, { cause: error });
    }
  }

  async list(): Promise<Lease[]> {
    const now = Date.now();
    const leases: Lease[] = [];
    for (const name of await this.leaseFileNames()) {
      const lease = await this.read(name);
      if (lease !== undefined && !isExpired(lease, now)) leases.push(lease);
    }
    return leases;
  }

  async create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    const key = leaseKey(subnets);
    return this.locked(async () => {
      // A file that cannot be read is still a claim on the key, as any existing etcd key is.
      if ((await this.readText(key)) !== undefined) return undefined;
      return this.write(key, attrs, new Date(Date.now() + ttlSeconds * 1000));
    });
  }

  async renew(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease> {
    subnetsOfKey(lease.key);
    return this.locked(async () => {
      const current = await this.read(lease.key);
      if (current !== undefined && !isSameNode(current.attrs, attrs)) {
        throw new LeaseConflictError(lease.key, current.attrs.publicIp);
      }
      // A lease that lapsed and that nobody took is simply written again.
      const reservation = (current ?? lease).expiration === undefined;
      return this.write(lease.key, attrs, reservation ? undefined : new Date(Date.now() + ttlSeconds * 1000));
    });
  }

  async remove(key: string): Promise<void> {
    subnetsOfKey(key); // a key names a file: never "../lock"
    await this.locked(() => removeIfPresent(join(this.subnetsDir, key)));
  }

  watch(onEvent: (event: LeaseEvent) => void, signal: AbortSignal): Promise<void> {
    return watchByPolling(() => this.list(), onEvent, signal, {
      directory: this.subnetsDir,
      intervalMs: this.options.pollIntervalMs ?? 1000,
      ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
    });
  }

  async close(): Promise<void> {}

  private async leaseFileNames(): Promise<string[]> {
    try {
      return (await readdir(this.subnetsDir)).filter((name) => !name.startsWith("."));
    } catch (error: unknown) {
      throw new LeaseStoreError(`cannot list ${this.subnetsDir}`, { cause: error });
    }
  }

  /** The content of lease file `key`, undefined when there is none. */
  private async readText(key: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.subnetsDir, key), "utf8");
    } catch (error: unknown) {
      if (hasErrorCode(error, "ENOENT")) return undefined;
      throw new LeaseStoreError(`cannot read lease ${key} in ${this.subnetsDir}`, { cause: error });
    }
  }

  /** The lease in file `key`, expired or not; undefined when absent or unusable (logged). */
  private async read(key: string): Promise<Lease | undefined> {
    const text = await this.readText(key);
    if (text === undefined) return undefined;
    try {
      return decodeLeaseFile(key, text);
    } catch (error: unknown) {
      this.options.logger?.warn("ignoring an unusable lease file", {
        file: join(this.subnetsDir, key),
        error: (error as Error).message,
      });
      return undefined;
    }
  }

  private async write(key: string, attrs: LeaseAttrs, expiration: Date | undefined): Promise<Lease> {
    const subnets = subnetsOfKey(key);
    const value = { ...encodeLeaseAttrs(attrs), ...(expiration === undefined ? {} : { Expiration: expiration }) };
    const path = join(this.subnetsDir, key);
    const temp = join(this.subnetsDir, `.${key}${TEMP_SUFFIX}`);
    try {
      const file = await open(temp, "w", 0o644);
      try {
        await file.writeFile(`${JSON.stringify(value)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
      await syncDirectory(this.subnetsDir);
    } catch (error: unknown) {
      await removeIfPresent(temp);
      throw new LeaseStoreError(`cannot write lease ${key} in ${this.subnetsDir}`, { cause: error });
    }
    return { key, ...subnets, attrs, ...(expiration === undefined ? {} : { expiration }) };
  }

  /** Runs `fn` holding the directory's lock, after removing what earlier writers left behind. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const path = join(this.options.directory, "lock");
    const native = await loadNative();
    const lock = await open(path, "a", 0o644);
    try {
      const deadline = Date.now() + (this.options.lockTimeoutMs ?? 10_000);
      // Non-blocking attempts: a blocking flock() would stall the whole event loop.
      for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
        try {
          native.flock(lock.fd, LOCK_EX | LOCK_NB);
          break;
        } catch (error: unknown) {
          if (!hasErrorCode(error, "EAGAIN", "EWOULDBLOCK")) throw error;
          if (Date.now() >= deadline) throw new LeaseStoreError(`timed out waiting for the lock ${path}`);
          await sleep(delay);
        }
      }
      await this.removeLeftovers();
      return await fn();
    } finally {
      await lock.close(); // releases the flock
    }
  }

  /** Under the lock: expired leases, and temporary files of writers that died mid-write. */
  private async removeLeftovers(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.subnetsDir)) {
      if (name.startsWith(".") && name.endsWith(TEMP_SUFFIX)) {
        await removeIfPresent(join(this.subnetsDir, name));
      } else if (!name.startsWith(".")) {
        const lease = await this.read(name);
        if (lease !== undefined && isExpired(lease, now)) await removeIfPresent(join(this.subnetsDir, name));
      }
    }
  }
}

function isExpired(lease: Lease, now: number): boolean {
  return lease.expiration !== undefined && lease.expiration.getTime() <= now;
}

function decodeLeaseFile(key: string, text: string): Lease {
  const subnets = subnetsOfKey(key);
  const json: unknown = JSON.parse(text);
  const expirationText = new JsonReader(json).string("Expiration");
  const expiration = expirationText === undefined ? undefined : new Date(expirationText);
  if (expiration !== undefined && Number.isNaN(expiration.getTime())) {
    throw new JsonShapeError("Expiration", "an RFC 3339 time", expirationText);
  }
  return { key, ...subnets, attrs: decodeLeaseAttrs(json), ...(expiration === undefined ? {} : { expiration }) };
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error: unknown) {
    if (!hasErrorCode(error, "ENOENT")) throw error;
  }
}

/** Makes a rename durable: the new directory entry reaches the disk. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

// Watching a store that has no change feed (the file store): re-list on every change notification
// (inotify through node:fs.watch), at a fixed interval in case a notification is lost or the
// watcher fails, and when the next known lease expires; report the differences as events.

import { watch as watchDirectory, type FSWatcher } from "node:fs";

import type { Logger } from "../../cni/log";
import type { Lease, LeaseEvent } from "../lease";
import { sleep } from "../sleep";

export interface PollingWatchOptions {
  /** The directory whose changes trigger an early re-list. */
  readonly directory: string;
  readonly intervalMs: number;
  readonly logger?: Logger;
}

/** Bursts of notifications (a write is a create, a write and a rename) cause one re-list. */
const SETTLE_MS = 10;

export async function watchByPolling(
  list: () => Promise<Lease[]>,
  onEvent: (event: LeaseEvent) => void,
  signal: AbortSignal,
  options: PollingWatchOptions,
): Promise<void> {
  const trigger = new Trigger();
  const notifications = new DirectoryNotifications(options.directory, () => trigger.fire(), options.logger);
  let known: Map<string, Known> | undefined;
  try {
    while (!signal.aborted) {
      trigger.reset();
      notifications.ensure();
      let leases: Lease[] | undefined;
      try {
        leases = await list();
      } catch (error: unknown) {
        options.logger?.warn("cannot list leases; retrying", { error: (error as Error).message });
      }
      if (leases !== undefined && !signal.aborted) known = report(known, leases, onEvent);
      await trigger.wait(nextWakeup(known, options.intervalMs), signal);
      if (trigger.fired) await sleep(SETTLE_MS, signal);
    }
  } finally {
    notifications.close();
  }
}

interface Known {
  readonly lease: Lease;
  readonly fingerprint: string;
}

/** Emits a snapshot the first time, then what changed since `known`; returns the new state. */
function report(
  known: Map<string, Known> | undefined,
  leases: readonly Lease[],
  onEvent: (event: LeaseEvent) => void,
): Map<string, Known> {
  const next = new Map(leases.map((lease) => [lease.key, { lease, fingerprint: JSON.stringify(lease) }]));
  if (known === undefined) {
    onEvent({ type: "snapshot", leases: [...leases] });
    return next;
  }
  for (const [key, { lease }] of known) if (!next.has(key)) onEvent({ type: "removed", lease });
  for (const [key, { lease, fingerprint }] of next) {
    if (known.get(key)?.fingerprint !== fingerprint) onEvent({ type: "added", lease });
  }
  return next;
}

/** Milliseconds until the next poll: the interval, or sooner when a known lease expires first. */
function nextWakeup(known: Map<string, Known> | undefined, intervalMs: number): number {
  const now = Date.now();
  let wait = intervalMs;
  for (const { lease } of known?.values() ?? []) {
    if (lease.expiration !== undefined) wait = Math.min(wait, lease.expiration.getTime() - now + 1);
  }
  return Math.max(wait, 0);
}

/** A wait that a notification ends early. */
class Trigger {
  fired = false;
  private wake: (() => void) | undefined;

  fire(): void {
    this.fired = true;
    this.wake?.();
  }

  reset(): void {
    this.fired = false;
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.fired || signal.aborted) return;
    const early = new AbortController();
    const stop = (): void => early.abort();
    this.wake = stop;
    signal.addEventListener("abort", stop, { once: true });
    try {
      await sleep(ms, early.signal);
    } finally {
      this.wake = undefined;
      signal.removeEventListener("abort", stop);
    }
  }
}

/** inotify on the directory, re-armed after a failure (the polling interval covers the gap). */
class DirectoryNotifications {
  private watcher: FSWatcher | undefined;
  private readonly directory: string;
  private readonly onChange: () => void;
  private readonly logger: Logger | undefined;

  constructor(directory: string, onChange: () => void, logger: Logger | undefined) {
    this.directory = directory;
    this.onChange = onChange;
    this.logger = logger;
  }

  ensure(): void {
    if (this.watcher !== undefined) return;
    try {
      const watcher = watchDirectory(this.directory, { persistent: false }, () => this.onChange());
      watcher.on("error", (error: Error) => {
        this.logger?.warn("lease directory notifications failed; polling until re-armed", { error: error.message });
        this.close();
      });
      this.watcher = watcher;
    } catch (error: unknown) {
      this.logger?.debug("cannot watch the lease directory; polling", { error: (error as Error).message });
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

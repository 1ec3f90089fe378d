// The etcd store's watch: a snapshot of the subnets prefix, then a watch stream from the next
// revision. A broken stream resumes from the revision after the last event seen; a stream whose
// revision etcd compacted away re-lists and emits a fresh snapshot, and so does a periodic resync,
// which also catches a stream that went silent without breaking.

import { JsonReader } from "../../cni/json";
import type { Logger } from "../../cni/log";
import type { Lease, LeaseEvent } from "../lease";
import { sleep } from "../sleep";
import { prefixRangeEnd, readKeyValue, toBase64, type EtcdGateway, type EtcdKeyValue } from "./etcd-gateway";

export interface EtcdWatchSource {
  readonly gateway: EtcdGateway;
  /** The watched key prefix, e.g. "/coreos.com/network/subnets/". */
  readonly prefix: string;
  snapshot(): Promise<{ leases: Lease[]; revision: bigint }>;
  toLease(kv: EtcdKeyValue): Promise<Lease | undefined>;
  readonly resyncIntervalMs: number;
  readonly logger?: Logger;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

type StreamEnd = "compacted" | "resync" | "closed";

export async function watchEtcd(
  source: EtcdWatchSource,
  onEvent: (event: LeaseEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let backoff = MIN_BACKOFF_MS;
  const pause = async (what: string, error: unknown): Promise<void> => {
    source.logger?.warn(`etcd watch: ${what}; retrying in ${backoff} ms`, { error: (error as Error).message });
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  while (!signal.aborted) {
    let snapshot: { leases: Lease[]; revision: bigint };
    try {
      snapshot = await source.snapshot();
    } catch (error: unknown) {
      await pause("cannot list leases", error);
      continue;
    }
    if (signal.aborted) return;
    onEvent({ type: "snapshot", leases: snapshot.leases });
    const follower = new Follower(source, snapshot, onEvent);
    const resyncAt = Date.now() + source.resyncIntervalMs;
    for (;;) {
      let end: StreamEnd;
      try {
        end = await follower.follow(resyncAt, signal, () => (backoff = MIN_BACKOFF_MS));
      } catch (error: unknown) {
        if (signal.aborted) return;
        await pause("stream failed", error);
        continue;
      }
      if (signal.aborted) return;
      if (end === "compacted") source.logger?.warn("etcd watch fell behind compaction; re-listing");
      if (end !== "closed") break;
      await pause("stream closed by etcd", new Error("end of stream"));
    }
  }
}

/** Follows the stream from a snapshot on, across reconnections, keeping the leases it reported. */
class Follower {
  private readonly known: Map<string, Lease>;
  private next: bigint;
  private readonly source: EtcdWatchSource;
  private readonly onEvent: (event: LeaseEvent) => void;

  constructor(
    source: EtcdWatchSource,
    snapshot: { leases: Lease[]; revision: bigint },
    onEvent: (event: LeaseEvent) => void,
  ) {
    this.source = source;
    this.onEvent = onEvent;
    this.known = new Map(snapshot.leases.map((lease) => [lease.key, lease]));
    this.next = snapshot.revision + 1n;
  }

  /** One stream, from the next unseen revision; resolves with why it ended. */
  async follow(resyncAt: number, signal: AbortSignal, onHealthy: () => void): Promise<StreamEnd> {
    const stream = new AbortController();
    const stop = (): void => stream.abort();
    signal.addEventListener("abort", stop, { once: true });
    let end: StreamEnd = "closed";
    const timer = setTimeout(() => {
      end = "resync";
      stream.abort();
    }, resyncAt - Date.now());
    // Events need lookups (the TTL of a PUT's lease): handled one message after another, in order.
    let handling = Promise.resolve();
    let failure: unknown;
    const fail = (error: unknown): void => {
      failure ??= error;
      stream.abort();
    };
    try {
      await this.openStream(stream.signal, (result) => {
        if (result.boolean("canceled") === true) {
          end = BigInt(result.string("compact_revision") ?? "0") > 0n ? "compacted" : "closed";
          stream.abort();
          return;
        }
        const events = result.array("events", (value, path) => new JsonReader(value, path)) ?? [];
        if (events.length > 0) handling = handling.then(() => this.apply(events)).then(onHealthy, fail);
      }).catch((error: unknown) => {
        // Ending the stream on purpose (compaction, resync, shutdown) is no failure.
        if (!stream.signal.aborted) throw error;
      });
      await handling;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", stop);
    }
    if (failure !== undefined) throw failure;
    return end;
  }

  private openStream(signal: AbortSignal, onResult: (result: JsonReader) => void): Promise<void> {
    return this.source.gateway.stream(
      "/v3/watch",
      {
        create_request: {
          key: toBase64(this.source.prefix),
          range_end: prefixRangeEnd(this.source.prefix),
          start_revision: this.next.toString(),
        },
      },
      onResult,
      signal,
    );
  }

  private async apply(events: readonly JsonReader[]): Promise<void> {
    for (const event of events) {
      const reader = event.child("kv");
      if (reader === undefined) continue;
      const kv = readKeyValue(reader);
      if (event.string("type") === "DELETE") this.removed(kv);
      else await this.added(kv);
      // Only now: a failed lookup resumes the stream at this event.
      this.next = kv.modRevision + 1n;
    }
  }

  private async added(kv: EtcdKeyValue): Promise<void> {
    const lease = await this.source.toLease(kv);
    if (lease !== undefined) {
      this.known.set(lease.key, lease);
      this.onEvent({ type: "added", lease });
      return;
    }
    // Overwritten by something unusable (or already lapsed): what was reported is gone.
    this.removed(kv);
  }

  /** Only what was reported can be removed: every lease reported is known, since the snapshot. */
  private removed(kv: EtcdKeyValue): void {
    const key = kv.key.slice(this.source.prefix.length);
    const lease = this.known.get(key);
    this.known.delete(key);
    if (lease !== undefined) this.onEvent({ type: "removed", lease });
  }
}

// The etcd v3 lease store, with flannel's layout and semantics so that this agent and flanneld can
// share one etcd:
//
//   <prefix>/config                    the network config (net-conf.json), written by the operator
//   <prefix>/subnets/<key>             flannel's JSON lease value, attached to an etcd lease (TTL)
//
// A key attached to no etcd lease is a reservation: it never expires and is never renewed. A lease
// is created by a transaction on the key's version, so two nodes never take one subnet; renewing is
// a fresh Grant and Put, as flanneld does.

import { readFile } from "node:fs/promises";

import { JsonReader } from "../../cni/json";
import type { Logger } from "../../cni/log";
import type { Lease, LeaseAttrs, LeaseEvent, LeaseStore, LeaseSubnets } from "../lease";
import { LeaseConflictError } from "./errors";
import {
  EtcdGateway,
  prefixRangeEnd,
  readKeyValue,
  toBase64,
  type EtcdKeyValue,
  type EtcdTlsMaterial,
} from "./etcd-gateway";
import { watchEtcd } from "./etcd-watch";
import { decodeLeaseAttrs, encodeLeaseAttrs, isSameNode, leaseKey, parseLeaseKey, subnetsOfKey } from "./lease-codec";

export const DEFAULT_ETCD_PREFIX = "/coreos.com/network";

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["https://10.0.0.1:2379"]. */
  readonly endpoints: readonly string[];
  /** Key prefix (default /coreos.com/network, flanneld's). */
  readonly prefix?: string;
  /** PEM file paths; all optional (a CA alone verifies etcd without a client certificate). */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  readonly logger?: Logger;
  /** Limit for one request (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** A watch re-lists this often even when the stream looks healthy (default 5 min). */
  readonly resyncIntervalMs?: number;
}

/** How many TTL lookups a listing runs at once. */
const TTL_LOOKUP_CONCURRENCY = 32;

export async function openEtcdLeaseStore(options: EtcdStoreOptions): Promise<LeaseStore> {
  const read = (path: string | undefined): Promise<string | undefined> =>
    path === undefined ? Promise.resolve(undefined) : readFile(path, "utf8");
  const [ca, cert, key] = await Promise.all([
    read(options.tls?.caFile),
    read(options.tls?.certFile),
    read(options.tls?.keyFile),
  ]);
  const tls: EtcdTlsMaterial = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
  const gateway = new EtcdGateway({
    endpoints: options.endpoints,
    tls,
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  return new EtcdLeaseStore(gateway, options);
}

class EtcdLeaseStore implements LeaseStore {
  private readonly gateway: EtcdGateway;
  private readonly options: EtcdStoreOptions;
  private readonly prefix: string;
  private readonly subnetsPrefix: string;
  /**
   * Expiration of each etcd lease seen, null once it lapsed. A lease's expiry only moves with a
   * KeepAlive, which flannel never sends (renewing grants a new lease), so one lookup per lease.
   */
  private readonly expirations = new Map<string, Date | null>();

  constructor(gateway: EtcdGateway, options: EtcdStoreOptions) {
    this.gateway = gateway;
    this.options = options;
    this.prefix = (options.prefix ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, "");
    this.subnetsPrefix = `${this.prefix}/subnets/`;
  }

  async readNetworkConfig(): Promise<string | undefined> {
    const [kv] = await this.range(`${this.prefix}/config`);
    return kv?.value;
  }

  async list(): Promise<Lease[]> {
    return (await this.snapshot()).leases;
  }

  /** Every live lease and reservation, and the revision to watch from. */
  async snapshot(): Promise<{ leases: Lease[]; revision: bigint }> {
    const reply = await this.gateway.call("/v3/kv/range", {
      key: toBase64(this.subnetsPrefix),
      range_end: prefixRangeEnd(this.subnetsPrefix),
    });
    const kvs = reply.array("kvs", (value, path) => readKeyValue(new JsonReader(value, path))) ?? [];
    const leases: Lease[] = [];
    for (let i = 0; i < kvs.length; i += TTL_LOOKUP_CONCURRENCY) {
      const batch = await Promise.all(kvs.slice(i, i + TTL_LOOKUP_CONCURRENCY).map((kv) => this.toLease(kv)));
      for (const lease of batch) if (lease !== undefined) leases.push(lease);
    }
    const live = new Set(kvs.map((kv) => kv.lease));
    for (const id of this.expirations.keys()) if (!live.has(id)) this.expirations.delete(id);
    return { leases, revision: BigInt(reply.child("header")?.string("revision") ?? "0") };
  }

  /** The lease a key/value holds; undefined when it is no lease key, unusable or expired. */
  async toLease(kv: EtcdKeyValue): Promise<Lease | undefined> {
    const key = kv.key.slice(this.subnetsPrefix.length);
    const subnets = kv.key.startsWith(this.subnetsPrefix) ? parseLeaseKey(key) : undefined;
    let attrs: LeaseAttrs;
    try {
      if (subnets === undefined) throw new Error("not a subnet key");
      attrs = decodeLeaseAttrs(JSON.parse(kv.value));
    } catch (error: unknown) {
      this.options.logger?.warn("ignoring an unusable lease in etcd", { key: kv.key, error: (error as Error).message });
      return undefined;
    }
    if (kv.lease === "0") return { key, ...subnets, attrs };
    const expiration = await this.expirationOf(kv.lease);
    return expiration === null ? undefined : { key, ...subnets, attrs, expiration };
  }

  async create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    const key = leaseKey(subnets);
    const { id, expiration } = await this.grant(ttlSeconds);
    let created = false;
    try {
      created = await this.putIf(key, attrs, id, { target: "VERSION", version: "0" });
    } finally {
      if (!created) await this.revoke(id);
    }
    return created ? { key, ...subnetsOfKey(key), attrs, expiration } : undefined;
  }

  async renew(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease> {
    const subnets = subnetsOfKey(lease.key);
    // Read, then write only if nobody wrote in between; a concurrent writer makes us look again.
    for (;;) {
      const [current] = await this.range(this.subnetsPrefix + lease.key);
      if (current !== undefined) {
        const holder = holderOf(current);
        if (holder === undefined || !isSameNode(holder, attrs)) {
          throw new LeaseConflictError(lease.key, holder?.publicIp ?? "an unreadable value");
        }
      }
      const condition =
        current === undefined
          ? { target: "VERSION", version: "0" }
          : { target: "MOD", mod_revision: current.modRevision.toString() };
      // A lease that lapsed and that nobody took is simply written again.
      const reservation = current === undefined ? lease.expiration === undefined : current.lease === "0";
      const granted = reservation ? undefined : await this.grant(ttlSeconds);
      if (await this.putIf(lease.key, attrs, granted?.id ?? "0", condition)) {
        if (current !== undefined && current.lease !== "0") await this.revoke(current.lease);
        return {
          key: lease.key,
          ...subnets,
          attrs,
          ...(granted === undefined ? {} : { expiration: granted.expiration }),
        };
      }
      if (granted !== undefined) await this.revoke(granted.id);
    }
  }

  async remove(key: string): Promise<void> {
    subnetsOfKey(key);
    const reply = await this.gateway.call("/v3/kv/deleterange", {
      key: toBase64(this.subnetsPrefix + key),
      prev_kv: true,
    });
    // The key's etcd lease now holds nothing: give it back rather than leave it for a day.
    const [previous] = reply.array("prev_kvs", (value, path) => readKeyValue(new JsonReader(value, path))) ?? [];
    if (previous !== undefined && previous.lease !== "0") await this.revoke(previous.lease);
  }

  watch(onEvent: (event: LeaseEvent) => void, signal: AbortSignal): Promise<void> {
    return watchEtcd(
      {
        gateway: this.gateway,
        prefix: this.subnetsPrefix,
        snapshot: () => this.snapshot(),
        toLease: (kv) => this.toLease(kv),
        resyncIntervalMs: this.options.resyncIntervalMs ?? 300_000,
        ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
      },
      onEvent,
      signal,
    );
  }

  async close(): Promise<void> {
    this.gateway.close();
  }

  private async range(key: string): Promise<EtcdKeyValue[]> {
    const reply = await this.gateway.call("/v3/kv/range", { key: toBase64(key) });
    return reply.array("kvs", (value, path) => readKeyValue(new JsonReader(value, path))) ?? [];
  }

  private async grant(ttlSeconds: number): Promise<{ id: string; expiration: Date }> {
    const reply = await this.gateway.call("/v3/lease/grant", { TTL: String(ttlSeconds) });
    const id = reply.requireString("ID");
    // etcd may round a TTL up to its minimum; the reply has the one granted.
    const expiration = new Date(Date.now() + Number(reply.string("TTL") ?? ttlSeconds) * 1000);
    this.expirations.set(id, expiration);
    return { id, expiration };
  }

  /** Best effort: an orphaned etcd lease holds no key and lapses on its own. */
  private async revoke(id: string): Promise<void> {
    this.expirations.delete(id);
    try {
      await this.gateway.call("/v3/lease/revoke", { ID: id });
    } catch (error: unknown) {
      this.options.logger?.debug("cannot revoke an unused etcd lease", { id, error: (error as Error).message });
    }
  }

  /** Puts flannel's value under `key` (on etcd lease `leaseId`, "0" for none) if `compare` holds. */
  private async putIf(key: string, attrs: LeaseAttrs, leaseId: string, compare: object): Promise<boolean> {
    const fullKey = toBase64(this.subnetsPrefix + key);
    const reply = await this.gateway.call("/v3/kv/txn", {
      compare: [{ key: fullKey, result: "EQUAL", ...compare }],
      success: [
        {
          request_put: {
            key: fullKey,
            value: toBase64(JSON.stringify(encodeLeaseAttrs(attrs))),
            ...(leaseId === "0" ? {} : { lease: leaseId }),
          },
        },
      ],
    });
    return reply.boolean("succeeded") ?? false;
  }

  private async expirationOf(id: string): Promise<Date | null> {
    const known = this.expirations.get(id);
    if (known !== undefined) return known !== null && known.getTime() <= Date.now() ? null : known;
    const reply = await this.gateway.call("/v3/lease/timetolive", { ID: id });
    const ttl = Number(reply.string("TTL") ?? "-1");
    const expiration = ttl > 0 ? new Date(Date.now() + ttl * 1000) : null;
    this.expirations.set(id, expiration);
    return expiration;
  }
}

function holderOf(kv: EtcdKeyValue): LeaseAttrs | undefined {
  try {
    return decodeLeaseAttrs(JSON.parse(kv.value));
  } catch {
    return undefined;
  }
}

// An in-memory LeaseStore with the semantics the real stores promise (create only if absent,
// expired leases invisible, renew refused to another node), plus ways for a test to play the
// other nodes: `beforeCreate` runs just before a create takes effect, e.g. to let another node win
// the race for that subnet.

import type { Lease, LeaseAttrs, LeaseEvent, LeaseStore, LeaseSubnets } from "../../../../agent/lease";
import { LeaseConflictError } from "../../../../agent/store/errors";
import { isSameNode, leaseKey, parseLeaseKey } from "../../../../agent/store/lease-codec";

export class MemoryLeaseStore implements LeaseStore {
  readonly leases = new Map<string, Lease>();
  readonly calls: string[] = [];
  beforeCreate: ((subnets: LeaseSubnets) => void) | undefined;
  renewFailures: Error[] = [];

  /** Puts a lease of another node (or a reservation, without ttl) straight into the store. */
  put(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds?: number): Lease {
    const key = leaseKey(subnets);
    const lease: Lease = {
      key,
      ...subnets,
      attrs,
      ...(ttlSeconds === undefined ? {} : { expiration: new Date(Date.now() + ttlSeconds * 1000) }),
    };
    this.leases.set(key, lease);
    return lease;
  }

  async readNetworkConfig(): Promise<string | undefined> {
    return undefined;
  }

  async list(): Promise<Lease[]> {
    this.calls.push("list");
    return [...this.leases.values()].filter((l) => l.expiration === undefined || l.expiration.getTime() > Date.now());
  }

  async create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    this.calls.push(`create ${leaseKey(subnets)}`);
    this.beforeCreate?.(subnets);
    const existing = this.leases.get(leaseKey(subnets));
    if (existing !== undefined && (existing.expiration === undefined || existing.expiration.getTime() > Date.now())) {
      return undefined;
    }
    return this.put(subnets, attrs, ttlSeconds);
  }

  async renew(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease> {
    this.calls.push(`renew ${lease.key}`);
    const failure = this.renewFailures.shift();
    if (failure !== undefined) throw failure;
    const current = this.leases.get(lease.key);
    if (current !== undefined && !isSameNode(current.attrs, attrs)) {
      throw new LeaseConflictError(lease.key, current.attrs.publicIp);
    }
    const reservation = (current ?? lease).expiration === undefined;
    return this.put(parseLeaseKey(lease.key) ?? {}, attrs, reservation ? undefined : ttlSeconds);
  }

  async remove(key: string): Promise<void> {
    this.calls.push(`remove ${key}`);
    this.leases.delete(key);
  }

  async watch(onEvent: (event: LeaseEvent) => void, signal: AbortSignal): Promise<void> {
    onEvent({ type: "snapshot", leases: await this.list() });
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  async close(): Promise<void> {}
}

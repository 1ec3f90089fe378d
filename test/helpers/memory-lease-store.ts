// A LeaseStore in memory, for driving agents in the test process: every change reaches every watch
// at once, and tests can put and drop leases as another node (or an operator) would.

import type { AcquireLease } from "../../agent/daemon";
import type { Lease, LeaseAttrs, LeaseEvent, LeaseStore, LeaseSubnets } from "../../agent/lease";

export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, Lease>();
  private readonly watchers = new Set<(event: LeaseEvent) => void>();
  readonly networkConfig: string | undefined;

  constructor(networkConfig?: string) {
    this.networkConfig = networkConfig;
  }

  async readNetworkConfig(): Promise<string | undefined> {
    return this.networkConfig;
  }

  async list(): Promise<Lease[]> {
    return [...this.leases.values()];
  }

  get(key: string): Lease | undefined {
    return this.leases.get(key);
  }

  async create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined> {
    const key = keyOf(subnets);
    if (this.leases.has(key)) return undefined;
    return this.put({ key, ...subnets, attrs, expiration: new Date(Date.now() + ttlSeconds * 1000) });
  }

  async renew(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease> {
    if (!this.leases.has(lease.key)) throw new Error(`no lease ${lease.key}`);
    return this.put({ ...lease, attrs, expiration: new Date(Date.now() + ttlSeconds * 1000) });
  }

  async remove(key: string): Promise<void> {
    this.drop(key);
  }

  async watch(onEvent: (event: LeaseEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    onEvent({ type: "snapshot", leases: [...this.leases.values()] });
    this.watchers.add(onEvent);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    this.watchers.delete(onEvent);
  }

  async close(): Promise<void> {}

  /** Adds or replaces a lease, as another node's agent would. */
  put(lease: Lease): Lease {
    this.leases.set(lease.key, lease);
    for (const watcher of this.watchers) watcher({ type: "added", lease });
    return lease;
  }

  /** Removes a lease, as its expiry or an operator would. */
  drop(key: string): void {
    const lease = this.leases.get(key);
    if (lease === undefined) return;
    this.leases.delete(key);
    for (const watcher of this.watchers) watcher({ type: "removed", lease });
  }
}

function keyOf(subnets: LeaseSubnets): string {
  const part = (cidr: string) => cidr.replace("/", "-");
  return [subnets.subnet, subnets.ipv6Subnet]
    .filter((s) => s !== undefined)
    .map(part)
    .join("&");
}

/**
 * A stand-in for the subnet choice: this node's lease (same public IP) if there is one, else the
 * previous subnet, else the first free n of 10.244.n.0/24 (and fd00:10:244:n::/64 with IPv6).
 */
export const simpleAcquire: AcquireLease = async (store, { config, attrs, previous, ttlSeconds }) => {
  const leases = await store.list();
  const mine = leases.find((l) => l.attrs.publicIp === attrs.publicIp);
  if (mine !== undefined) return store.renew(mine, attrs, ttlSeconds);
  const candidates: LeaseSubnets[] = Array.from({ length: 254 }, (_, i) => ({
    ...(config.enableIPv4 ? { subnet: `10.244.${i + 1}.0/24` } : {}),
    ...(config.enableIPv6 ? { ipv6Subnet: `fd00:10:244:${i + 1}::/64` } : {}),
  }));
  if (previous?.subnet !== undefined) candidates.unshift({ subnet: previous.subnet });
  for (const subnets of candidates) {
    const created = await store.create(subnets, attrs, ttlSeconds);
    if (created !== undefined) return created;
  }
  throw new Error("no free subnet");
};

/** renewAt with the margin subtracted from the expiration. */
export function renewAt(lease: Lease, marginSeconds: number): Date | undefined {
  return lease.expiration === undefined ? undefined : new Date(lease.expiration.getTime() - marginSeconds * 1000);
}

// This node's subnet, chosen as flanneld's etcd subnet manager chooses it, once for every store:
//
//   1. a lease of this node (same public IP) that fits the config is kept, and renewed; one that
//      does not fit (another network, subnet length or range) is deleted;
//   2. else the subnet of the previous subnet.env, if it fits and is free;
//   3. else a random one of the first 100 free subnets between SubnetMin and SubnetMax.
//
// The store's create() is atomic; losing a race to another node means looking again, up to 10 times.
// A lease lives `ttlSeconds` (24 h by default) and is renewed `marginSeconds` (1 h) before it
// lapses; a failed renewal is retried every minute. Reservations (no expiry) are never renewed.

import type { Logger } from "../cni/log";
import {
  compareAddresses,
  formatIpNet,
  netsOverlap,
  parseIpNet,
  subnetsBetween,
  type IpFamily,
  type IpNet,
} from "./ip-net";
import type { Lease, LeaseAttrs, LeaseStore, LeaseSubnets } from "./lease";
import type { NetworkConfig } from "./network-config";
import { sleep } from "./sleep";
import { LeaseConflictError } from "./store/errors";
import { isSameNode } from "./store/lease-codec";

export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60;
export const DEFAULT_RENEW_MARGIN_SECONDS = 60 * 60;
export const DEFAULT_RENEW_RETRY_SECONDS = 60;

/** Lost races before acquireLease gives up (flannel's raceRetries). */
const RACE_RETRIES = 10;
/** Free subnets collected before picking one at random. */
const CANDIDATES = 100;

/** Every subnet between SubnetMin and SubnetMax is taken. */
export class SubnetsExhaustedError extends Error {
  constructor(range: string) {
    super(`out of subnets: no free subnet ${range}`);
    this.name = "SubnetsExhaustedError";
  }
}

/** Other nodes took every subnet this node tried, RACE_RETRIES times in a row. */
export class LeaseRaceError extends Error {
  constructor(attempts: number) {
    super(`gave up acquiring a subnet after losing ${attempts} races to other nodes`);
    this.name = "LeaseRaceError";
  }
}

export interface AcquireOptions {
  readonly config: NetworkConfig;
  /** What this node advertises; its publicIp (publicIpv6 without IPv4) identifies the node. */
  readonly attrs: LeaseAttrs;
  /**
   * The subnets of the previous subnet.env (FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET), if any; as the
   * file has them ("10.244.1.1/24", the gateway) or in network form.
   */
  readonly previous?: LeaseSubnets;
  /** Lifetime of a new or renewed lease (default 24 h). */
  readonly ttlSeconds?: number;
  readonly logger?: Logger;
}

/**
 * Leases this node's subnet(s) from `store` (see the top of this file). Throws
 * SubnetsExhaustedError or LeaseRaceError when no subnet can be had, or the store's error.
 */
export async function acquireLease(store: LeaseStore, options: AcquireOptions): Promise<Lease> {
  const { config, attrs, logger } = options;
  const ttl = options.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  // Subnets a create() lost: taken even if a listing does not show them (e.g. a lease of
  // another backend type, which the stores skip).
  const lost: IpNet[] = [];
  for (let attempt = 1; attempt <= RACE_RETRIES; attempt++) {
    const leases = await store.list();
    const mine = leases.filter((lease) => isSameNode(lease.attrs, attrs));
    for (const lease of mine.filter((l) => !fitsConfig(config, l))) {
      logger?.info("deleting this node's lease, which does not fit the network config", { lease: lease.key });
      await store.remove(lease.key);
    }
    const kept = mine.find((lease) => fitsConfig(config, lease));
    if (kept !== undefined) {
      try {
        const renewed = await store.renew(kept, attrs, ttl);
        logger?.info("keeping this node's lease", { lease: kept.key });
        return renewed;
      } catch (error: unknown) {
        if (!(error instanceof LeaseConflictError)) throw error;
        logger?.warn("this node's lease was taken meanwhile; choosing again", { lease: kept.key });
        lost.push(...netsOf(kept));
        continue;
      }
    }
    const taken = [...leases.filter((lease) => !mine.includes(lease)).flatMap(netsOf), ...lost];
    const previous = options.previous === undefined ? undefined : networkForm(options.previous);
    const fromEnv = previous !== undefined && isUsable(config, previous, taken) ? previous : undefined;
    if (previous !== undefined && fromEnv === undefined && attempt === 1) {
      logger?.info("the subnet of the previous subnet.env is taken or does not fit the config", { ...previous });
    }
    const wanted = fromEnv ?? pickFree(config, taken);
    const created = await store.create(wanted, attrs, ttl);
    if (created !== undefined) {
      logger?.info("leased a subnet", {
        lease: created.key,
        from: fromEnv === undefined ? "free range" : "subnet.env",
      });
      return created;
    }
    logger?.debug("another node took the subnet first; choosing again", { ...wanted, attempt });
    lost.push(...netsOf(wanted));
  }
  throw new LeaseRaceError(RACE_RETRIES);
}

/** When to renew: `marginSeconds` before the lease lapses; undefined for a reservation. */
export function renewAt(lease: Lease, marginSeconds: number): Date | undefined {
  return lease.expiration === undefined ? undefined : new Date(lease.expiration.getTime() - marginSeconds * 1000);
}

export interface RenewalOptions {
  readonly attrs: LeaseAttrs;
  readonly signal: AbortSignal;
  /** Lifetime given by each renewal (default 24 h). */
  readonly ttlSeconds?: number;
  /** Renew this long before expiry (default 1 h); must be shorter than the TTL. */
  readonly marginSeconds?: number;
  /** Wait after a failed renewal (default 60 s). */
  readonly retrySeconds?: number;
  readonly logger?: Logger;
  /** Each renewed lease (e.g. for a lease-expiry metric). */
  readonly onRenewed?: (lease: Lease) => void;
}

/**
 * Renews `lease` on schedule until `signal` aborts, then resolves; resolves at once for a
 * reservation. Rejects with LeaseConflictError when another node now holds the key: the lease is
 * lost, and the caller must acquire one again (flanneld exits).
 */
export async function keepLeaseRenewed(store: LeaseStore, lease: Lease, options: RenewalOptions): Promise<void> {
  const ttl = options.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  const margin = options.marginSeconds ?? DEFAULT_RENEW_MARGIN_SECONDS;
  const retry = options.retrySeconds ?? DEFAULT_RENEW_RETRY_SECONDS;
  if (!(margin > 0 && margin < ttl)) throw new RangeError(`renew margin ${margin} s must be within (0, ${ttl}) s`);
  let current = lease;
  let due = renewAt(current, margin);
  while (due !== undefined) {
    await sleep(due.getTime() - Date.now(), options.signal);
    if (options.signal.aborted) return;
    try {
      current = await store.renew(current, options.attrs, ttl);
      options.logger?.info("renewed the lease", { lease: current.key, expiration: current.expiration?.toISOString() });
      options.onRenewed?.(current);
      due = renewAt(current, margin);
    } catch (error: unknown) {
      if (error instanceof LeaseConflictError) throw error;
      options.logger?.warn(`cannot renew the lease; retrying in ${retry} s`, { error: (error as Error).message });
      due = new Date(Date.now() + retry * 1000);
    }
  }
}

interface FamilyPlan {
  readonly family: IpFamily;
  readonly min: string;
  readonly max: string;
  readonly length: number;
}

function plans(config: NetworkConfig): FamilyPlan[] {
  const result: FamilyPlan[] = [];
  if (config.enableIPv4 && config.subnetMin !== undefined && config.subnetMax !== undefined) {
    result.push({ family: 4, min: config.subnetMin, max: config.subnetMax, length: config.subnetLen });
  }
  if (config.enableIPv6 && config.ipv6SubnetMin !== undefined && config.ipv6SubnetMax !== undefined) {
    result.push({ family: 6, min: config.ipv6SubnetMin, max: config.ipv6SubnetMax, length: config.ipv6SubnetLen });
  }
  return result;
}

function subnetOf(subnets: LeaseSubnets, family: IpFamily): string | undefined {
  return family === 4 ? subnets.subnet : subnets.ipv6Subnet;
}

function netsOf(subnets: LeaseSubnets): IpNet[] {
  return [subnets.subnet, subnets.ipv6Subnet].flatMap((cidr) => {
    const net = cidr === undefined ? undefined : parseIpNet(cidr);
    return net === undefined ? [] : [net];
  });
}

/**
 * flannel's isSubnetConfigCompat for each family: an enabled family's subnet has the configured
 * length and lies between SubnetMin and SubnetMax; a disabled family has none.
 */
export function fitsConfig(config: NetworkConfig, subnets: LeaseSubnets): boolean {
  const enabled = plans(config);
  return ([4, 6] as const).every((family) => {
    const cidr = subnetOf(subnets, family);
    const plan = enabled.find((p) => p.family === family);
    if (plan === undefined || cidr === undefined) return plan === undefined && cidr === undefined;
    const net = parseIpNet(cidr);
    return (
      net !== undefined &&
      net.family === family &&
      net.prefixLength === plan.length &&
      compareAddresses(net.address, plan.min) >= 0 &&
      compareAddresses(net.address, plan.max) <= 0
    );
  });
}

function networkForm(subnets: LeaseSubnets): LeaseSubnets {
  const network = (cidr: string | undefined): string | undefined => {
    const net = cidr === undefined ? undefined : parseIpNet(cidr);
    return net === undefined ? cidr : formatIpNet(net);
  };
  const subnet = network(subnets.subnet);
  const ipv6Subnet = network(subnets.ipv6Subnet);
  return { ...(subnet === undefined ? {} : { subnet }), ...(ipv6Subnet === undefined ? {} : { ipv6Subnet }) };
}

function isUsable(config: NetworkConfig, subnets: LeaseSubnets, taken: readonly IpNet[]): boolean {
  return fitsConfig(config, subnets) && !netsOf(subnets).some((net) => taken.some((t) => netsOverlap(net, t)));
}

/** A random one of the first CANDIDATES free subnets of each enabled family. */
function pickFree(config: NetworkConfig, taken: readonly IpNet[]): LeaseSubnets {
  const chosen: { subnet?: string; ipv6Subnet?: string } = {};
  for (const plan of plans(config)) {
    const free = freeSubnets(plan, taken);
    if (free.length === 0) throw new SubnetsExhaustedError(`/${plan.length} between ${plan.min} and ${plan.max}`);
    const pick = free[Math.floor(Math.random() * free.length)] as string;
    if (plan.family === 4) chosen.subnet = pick;
    else chosen.ipv6Subnet = pick;
  }
  return chosen;
}

function freeSubnets(plan: FamilyPlan, taken: readonly IpNet[]): string[] {
  // Leases of the configured length are matched exactly (fast); others by overlap.
  const same = new Set(taken.filter((t) => t.prefixLength === plan.length).map(formatIpNet));
  const other = taken.filter((t) => t.family === plan.family && t.prefixLength !== plan.length);
  const free: string[] = [];
  for (const candidate of subnetsBetween(plan.min, plan.max, plan.length)) {
    const cidr = formatIpNet(candidate);
    if (same.has(cidr) || other.some((t) => netsOverlap(t, candidate))) continue;
    free.push(cidr);
    if (free.length === CANDIDATES) break;
  }
  return free;
}

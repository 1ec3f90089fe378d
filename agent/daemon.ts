// The node agent: from start-up (underlay, VXLAN devices, lease, device address, subnet.env,
// overlay rules) to the steady state (lease watch applied at once, periodic reconcile, lease
// renewal). Stopping it leaves the datapath up: pods keep talking while the agent restarts.
//
// Netlink calls are synchronous, so lease events, reconcile passes and renewals never interleave.

import { setTimeout as delay } from "node:timers/promises";

import type { Logger } from "../cni/log";
import type { Handle } from "../native/netlink/handle";
import { Overlay } from "./datapath/overlay";
import type { Lease, LeaseAttrs, LeaseEvent, LeaseStore } from "./lease";
import { AgentMetrics } from "./metrics";
import type { NetworkConfig } from "./network-config";
import { readSubnetEnv, type SubnetEnv, writeSubnetEnv } from "./subnet-env";
import { selectUnderlay, type Underlay, type UnderlayOptions } from "./underlay";

/** A renewal that failed is retried after this long (flanneld: one minute). */
const RENEW_RETRY_MS = 60_000;
/** A watch that ended with an error is restarted after this long. */
const WATCH_RETRY_MS = 1_000;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface AgentOptions {
  readonly underlay: UnderlayOptions;
  readonly subnetFile: string;
  readonly ipMasq: boolean;
  readonly reconcileIntervalSeconds: number;
  readonly leaseTtlSeconds: number;
  readonly renewMarginSeconds: number;
}

/** The subnet choice: keep this node's lease, else the previous subnet.env's subnet, else a free one. */
export type AcquireLease = (
  store: LeaseStore,
  request: {
    readonly config: NetworkConfig;
    readonly attrs: LeaseAttrs;
    readonly previous?: { readonly subnet?: string; readonly ipv6Subnet?: string };
    readonly ttlSeconds: number;
  },
) => Promise<Lease>;

export interface AgentServices {
  readonly store: LeaseStore;
  readonly acquireLease: AcquireLease;
  /** When to renew: `marginSeconds` before expiry; undefined for a lease without TTL. */
  readonly renewAt: (lease: Lease, marginSeconds: number) => Date | undefined;
  /** Masquerade and forward rules for the overlay (firewall/overlay-rules.ts). */
  readonly ensureOverlayRules?: (env: SubnetEnv) => Promise<void>;
}

export class LeaseRevokedError extends Error {
  constructor(key: string) {
    super(`the lease ${key} of this node was removed from the store; stopping (the datapath stays up)`);
    this.name = "LeaseRevokedError";
  }
}

export class Agent {
  readonly metrics = new AgentMetrics();
  private readonly handle: Handle;
  private readonly config: NetworkConfig;
  private readonly options: AgentOptions;
  private readonly services: AgentServices;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private overlay: Overlay | undefined;
  private underlay: Underlay | undefined;
  private lease: Lease | undefined;
  private ready = false;
  private subnetEnv: SubnetEnv | undefined;
  private haveSnapshot = false;
  private watching: Promise<void> | undefined;
  private fail: (error: Error) => void = () => {};
  /** Settles when the agent stops: resolves after stop(), rejects when it had to stop by itself. */
  readonly done: Promise<void>;
  private finish: () => void = () => {};

  constructor(handle: Handle, config: NetworkConfig, options: AgentOptions, services: AgentServices, log: Logger) {
    this.handle = handle;
    this.config = config;
    this.options = options;
    this.services = services;
    this.log = log;
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.metrics.ready.set({}, 0);
  }

  isReady(): boolean {
    return this.ready;
  }

  get currentLease(): Lease | undefined {
    return this.lease;
  }

  /** Runs start-up to readiness, then starts the watch, the reconcile loop and renewals. */
  async start(): Promise<void> {
    const underlay = selectUnderlay(this.handle, this.options.underlay);
    this.underlay = underlay;
    this.log.info("selected the underlay interface", {
      interface: underlay.name,
      reason: underlay.reason,
      mtu: underlay.mtu,
      ...(underlay.ipv4 !== undefined ? { local: underlay.ipv4.localAddress, publicIp: underlay.ipv4.publicIp } : {}),
      ...(underlay.ipv6 !== undefined
        ? { localIpv6: underlay.ipv6.localAddress, publicIpv6: underlay.ipv6.publicIp }
        : {}),
    });
    const overlay = new Overlay(this.handle, this.config, underlay, this.log, this.metrics);
    this.overlay = overlay;
    overlay.ensureDevices();

    const attrs = overlay.leaseAttrs(underlay);
    const previous = this.previousSubnets();
    const lease = await this.services.acquireLease(this.services.store, {
      config: this.config,
      attrs,
      ...(previous !== undefined ? { previous } : {}),
      ttlSeconds: this.options.leaseTtlSeconds,
    });
    this.setLease(lease);
    this.log.info("acquired the lease", { lease: lease.key, subnet: lease.subnet, ipv6Subnet: lease.ipv6Subnet });
    overlay.activate(lease);

    const env: SubnetEnv = {
      ...(lease.subnet !== undefined ? { network: this.config.network, subnet: lease.subnet } : {}),
      ...(lease.ipv6Subnet !== undefined ? { ipv6Network: this.config.ipv6Network, ipv6Subnet: lease.ipv6Subnet } : {}),
      mtu: Math.min(...overlay.devices.map((d) => d.mtu)),
      ipMasq: this.options.ipMasq,
    };
    // The rules first: the flannel plugin starts pods as soon as subnet.env exists (as flanneld).
    await this.services.ensureOverlayRules?.(env);
    writeSubnetEnv(this.options.subnetFile, env);
    this.subnetEnv = env;
    this.log.info("wrote the subnet file", { path: this.options.subnetFile, mtu: env.mtu });
    this.ready = true;
    this.metrics.ready.set({}, 1);

    this.watching = this.watch();
    this.scheduleReconcile();
    this.scheduleRenewal();
  }

  /** Stops the loops; the devices, entries, rules and subnet.env stay. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.watching;
    this.finish();
  }

  /**
   * One reconcile pass now (the loop runs one every interval): the datapath, then the overlay
   * rules, which something else (a firewall reload) may have flushed.
   */
  async reconcile(): Promise<void> {
    this.reconcileDatapath();
    const env = this.subnetEnv;
    if (env === undefined || this.services.ensureOverlayRules === undefined) return;
    try {
      await this.services.ensureOverlayRules(env);
    } catch (error: unknown) {
      this.metrics.errors.inc({ operation: "ensure overlay rules" });
      this.log.error("cannot ensure the overlay rules", { error: message(error) });
    }
  }

  private reconcileDatapath(): void {
    const overlay = this.overlay;
    if (overlay === undefined) return;
    // Before the first snapshot the wanted set is unknown, and reconciling towards an empty one
    // would tear down every peer: only the devices are checked then.
    if (!this.haveSnapshot) {
      this.guard("ensure devices", () => overlay.ensureDevices());
      return;
    }
    for (const { family, error } of overlay.reconcile()) {
      if (error === undefined) continue;
      this.metrics.errors.inc({ operation: "reconcile" });
      this.log.error("reconcile failed", { family: `ipv${family}`, error: message(error) });
    }
  }

  private previousSubnets(): { subnet?: string; ipv6Subnet?: string } | undefined {
    try {
      const env = readSubnetEnv(this.options.subnetFile);
      if (env === undefined) return undefined;
      return {
        ...(env.subnet !== undefined ? { subnet: env.subnet } : {}),
        ...(env.ipv6Subnet !== undefined ? { ipv6Subnet: env.ipv6Subnet } : {}),
      };
    } catch (error: unknown) {
      this.log.warn("ignoring the previous subnet file", { error: message(error) });
      return undefined;
    }
  }

  private setLease(lease: Lease): void {
    this.lease = lease;
    this.metrics.leaseExpiration.set({}, lease.expiration === undefined ? 0 : lease.expiration.getTime() / 1000);
  }

  private async watch(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.services.store.watch((event) => this.onLeaseEvent(event), signal);
      } catch (error: unknown) {
        if (signal.aborted) return;
        this.metrics.errors.inc({ operation: "watch" });
        this.log.error("the lease watch failed; restarting it", { error: message(error) });
        await this.sleep(WATCH_RETRY_MS);
      }
    }
  }

  private onLeaseEvent(event: LeaseEvent): void {
    const own = this.lease;
    if (own === undefined || this.abort.signal.aborted) return;
    const revoked =
      (event.type === "removed" && event.lease.key === own.key) ||
      (event.type === "snapshot" && !event.leases.some((l) => l.key === own.key));
    if (revoked) {
      this.fail(new LeaseRevokedError(own.key));
      void this.stop();
      return;
    }
    this.guard("apply lease event", () => this.overlay?.applyEvent(event));
    if (event.type === "snapshot" && !this.haveSnapshot) {
      this.haveSnapshot = true;
      // The start-up pass: removes what a previous run left for leases that are gone.
      this.reconcileDatapath();
    }
    if (event.type !== "removed") {
      const mine = event.type === "added" ? [event.lease] : event.leases;
      const refreshed = mine.find((l) => l.key === own.key);
      if (refreshed !== undefined) this.setLease(refreshed);
    }
  }

  private scheduleReconcile(): void {
    this.after(this.options.reconcileIntervalSeconds * 1000, () => {
      void this.reconcile().finally(() => this.scheduleReconcile());
    });
  }

  private scheduleRenewal(delayMs?: number): void {
    const lease = this.lease;
    if (lease === undefined) return;
    let delay = delayMs;
    if (delay === undefined) {
      const at = this.services.renewAt(lease, this.options.renewMarginSeconds);
      if (at === undefined) return; // A reservation does not expire.
      delay = Math.max(0, at.getTime() - Date.now());
    }
    this.after(Math.min(delay, MAX_TIMER_MS), () => void this.renew());
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    const overlay = this.overlay;
    const underlay = this.underlay;
    if (lease === undefined || overlay === undefined || underlay === undefined) return;
    try {
      const renewed = await this.services.store.renew(
        lease,
        overlay.leaseAttrs(underlay),
        this.options.leaseTtlSeconds,
      );
      this.setLease(renewed);
      this.log.info("renewed the lease", { lease: renewed.key, expiration: renewed.expiration?.toISOString() });
      this.scheduleRenewal();
    } catch (error: unknown) {
      if (this.abort.signal.aborted) return; // The store was closed under it.
      this.metrics.errors.inc({ operation: "renew lease" });
      this.log.error("cannot renew the lease; retrying", { lease: lease.key, error: message(error) });
      this.scheduleRenewal(RENEW_RETRY_MS);
    }
  }

  private guard(operation: string, work: () => void): void {
    try {
      work();
    } catch (error: unknown) {
      this.metrics.errors.inc({ operation });
      this.log.error(`${operation} failed`, { error: message(error) });
    }
  }

  private after(ms: number, work: () => void): void {
    if (this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, ms);
    this.timers.add(timer);
  }

  /** Resolves after `ms`, or at once when the agent stops. */
  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.abort.signal }).catch(() => {});
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

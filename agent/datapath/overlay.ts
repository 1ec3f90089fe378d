// The overlay of one node: a VXLAN device per enabled family and the entries that reach every
// peer. Lease events are applied at once (only what changed is touched); `reconcile()` compares the
// wanted entries with the kernel's and repairs any drift, recreating a device that disappeared.

import type { Logger } from "../../cni/log";
import type { Handle } from "../../native/netlink/handle";
import type { IpFamily } from "../../native/netlink/ip";
import type { Lease, LeaseAttrs, LeaseEvent } from "../lease";
import type { AgentMetrics } from "../metrics";
import type { NetworkConfig } from "../network-config";
import type { Underlay } from "../underlay";
import { entriesOf, type Entries, isEmptyPlan, NO_ENTRIES, plan, type Peer } from "./entries";
import { applyPlan, type ApplyResult, type EntryScope, observeEntries } from "./kernel-entries";
import { PeerSelector } from "./peers";
import { configureDeviceAddress, ensureVxlanDevice, type VxlanDeviceSpec, vxlanDeviceSpec } from "./vxlan-device";

const familyLabel = (family: IpFamily) => ({ family: family === 4 ? "ipv4" : "ipv6" });

/** The datapath of one family: its device, its peers, the entries wanted for them. */
class FamilyOverlay {
  readonly spec: VxlanDeviceSpec;
  private readonly handle: Handle;
  private readonly network: string;
  private readonly underlay: Underlay;
  private readonly directRouting: boolean;
  private readonly log: Logger;
  private readonly metrics: AgentMetrics;
  private ownLease: Lease | undefined;
  private deviceIndex = 0;
  private wanted: Entries = NO_ENTRIES;
  private peers: Peer[] = [];
  /** Remembers each lease's peer until this node's own lease changes (a peer is never this node). */
  private selector: PeerSelector | undefined;

  constructor(
    handle: Handle,
    config: NetworkConfig,
    family: IpFamily,
    underlay: Underlay,
    log: Logger,
    metrics: AgentMetrics,
  ) {
    const network = family === 4 ? config.network : config.ipv6Network;
    const endpoint = family === 4 ? underlay.ipv4 : underlay.ipv6;
    if (network === undefined || endpoint === undefined) {
      throw new Error(
        `IPv${family} is enabled but the ${network === undefined ? "network" : "underlay address"} is missing`,
      );
    }
    this.handle = handle;
    this.network = network;
    this.underlay = underlay;
    this.directRouting = config.backend.directRouting;
    this.spec = vxlanDeviceSpec(config, family, { index: underlay.index, mtu: underlay.mtu, ...endpoint });
    this.log = log.child({ device: this.spec.name });
    this.metrics = metrics;
  }

  get family(): IpFamily {
    return this.spec.family;
  }

  get peerCount(): number {
    return this.peers.length;
  }

  /** Creates or adopts the device. */
  ensureDevice(): void {
    const { link, created, replaced } = ensureVxlanDevice(this.handle, this.spec);
    this.deviceIndex = link.index;
    if (replaced !== undefined) this.log.warn("replaced the existing VXLAN device", { reason: replaced });
    if (created) {
      this.metrics.deviceRecreations.inc(familyLabel(this.family));
      this.log.info("created the VXLAN device", { mac: this.spec.mac, mtu: this.spec.mtu, local: this.spec.local });
    }
    // Also on an adopted device: a pass puts back an address, up state or MAC changed by hand.
    if (this.ownLease !== undefined) this.configureAddress();
  }

  /** Takes this node's lease: the device gets its address and comes up. */
  activate(lease: Lease): void {
    this.ownLease = lease;
    this.selector = undefined;
    this.configureAddress();
  }

  private configureAddress(): void {
    const subnet = this.family === 4 ? this.ownLease?.subnet : this.ownLease?.ipv6Subnet;
    if (subnet === undefined) throw new Error(`the lease has no IPv${this.family} subnet`);
    configureDeviceAddress(this.handle, this.spec, subnet, this.network);
  }

  /** Applies the change from the previous lease set to this one at once. */
  setLeases(leases: Iterable<Lease>): void {
    this.selector ??= new PeerSelector({
      family: this.family,
      network: this.network,
      vni: this.spec.vni,
      ownKey: this.ownLease?.key,
      ownPublicIp: this.family === 4 ? (this.underlay.ipv4?.publicIp ?? "") : (this.underlay.ipv6?.publicIp ?? ""),
      directPrefixes: this.directRouting ? this.underlay.prefixes[this.family] : [],
    });
    const { peers, skipped } = this.selector.select(leases);
    for (const { key, reason } of skipped) {
      if (reason !== "own") this.log.debug("lease is not a peer", { lease: key, reason });
    }
    const wanted = entriesOf(peers);
    const changes = plan(wanted, this.wanted);
    this.peers = peers;
    this.wanted = wanted;
    this.metrics.peers.set(familyLabel(this.family), peers.length);
    if (isEmptyPlan(changes)) return;
    const result = applyPlan(this.handle, this.scope(), changes);
    this.record(result, "event");
  }

  /** Brings the kernel in line with the wanted entries. */
  reconcile(): ApplyResult {
    this.ensureDevice();
    const changes = plan(this.wanted, observeEntries(this.handle, this.scope()));
    const result = applyPlan(this.handle, this.scope(), changes);
    this.metrics.reconcileRuns.inc(familyLabel(this.family));
    this.record(result, "reconcile");
    return result;
  }

  private scope(): EntryScope {
    const ownSubnet = this.family === 4 ? this.ownLease?.subnet : this.ownLease?.ipv6Subnet;
    return {
      family: this.family,
      deviceIndex: this.deviceIndex,
      underlayIndex: this.underlay.index,
      network: this.network,
      // Before the lease exists, nothing of the network is this node's own.
      ownSubnet: ownSubnet ?? (this.family === 4 ? "255.255.255.255/32" : "ff00::/128"),
    };
  }

  private record(result: ApplyResult, trigger: "event" | "reconcile"): void {
    const family = familyLabel(this.family);
    for (const kind of ["route", "neighbour", "fdb"] as const) {
      const added = result.added[kind];
      const removed = result.removed[kind];
      if (trigger === "reconcile") {
        if (added > 0) this.metrics.reconcileAdditions.inc({ ...family, kind }, added);
        if (removed > 0) this.metrics.reconcileRemovals.inc({ ...family, kind }, removed);
      } else {
        if (added > 0) this.metrics.eventChanges.inc({ ...family, kind, action: "add" }, added);
        if (removed > 0) this.metrics.eventChanges.inc({ ...family, kind, action: "remove" }, removed);
      }
    }
    const total = Object.values(result.added).reduce((a, b) => a + b, 0);
    const removedTotal = Object.values(result.removed).reduce((a, b) => a + b, 0);
    if (trigger === "reconcile" && total + removedTotal > 0) {
      this.log.info("reconcile repaired drift", { added: result.added, removed: result.removed });
    } else if (trigger === "event") {
      this.log.debug("applied lease changes", { added: result.added, removed: result.removed });
    }
    for (const failure of result.failures) {
      this.metrics.errors.inc({ operation: `${failure.action} ${failure.kind}` });
      this.log.warn(`cannot ${failure.action} ${failure.kind}`, {
        entry: failure.entry,
        error: failure.error instanceof Error ? failure.error.message : String(failure.error),
      });
    }
  }
}

/** Both families' datapaths, fed from one lease set. */
export class Overlay {
  private readonly families: FamilyOverlay[];
  private readonly leases = new Map<string, Lease>();

  constructor(handle: Handle, config: NetworkConfig, underlay: Underlay, log: Logger, metrics: AgentMetrics) {
    const enabled: IpFamily[] = [
      ...(config.enableIPv4 ? [4 as const] : []),
      ...(config.enableIPv6 ? [6 as const] : []),
    ];
    this.families = enabled.map((family) => new FamilyOverlay(handle, config, family, underlay, log, metrics));
  }

  get devices(): readonly VxlanDeviceSpec[] {
    return this.families.map((f) => f.spec);
  }

  /** Creates the devices; their MACs go into the lease's attributes. */
  ensureDevices(): void {
    for (const family of this.families) family.ensureDevice();
  }

  /** What this node advertises: its public addresses and VTEPs. */
  leaseAttrs(underlay: Underlay): LeaseAttrs {
    const v4 = this.families.find((f) => f.family === 4)?.spec;
    const v6 = this.families.find((f) => f.family === 6)?.spec;
    return {
      publicIp: underlay.ipv4?.publicIp ?? "",
      ...(underlay.ipv6 !== undefined && v6 !== undefined ? { publicIpv6: underlay.ipv6.publicIp } : {}),
      backendType: "vxlan",
      ...(v4 !== undefined ? { backendData: { vni: v4.vni, vtepMac: v4.mac } } : {}),
      ...(v6 !== undefined ? { backendV6Data: { vni: v6.vni, vtepMac: v6.mac } } : {}),
    };
  }

  activate(lease: Lease): void {
    for (const family of this.families) family.activate(lease);
  }

  applyEvent(event: LeaseEvent): void {
    switch (event.type) {
      case "snapshot":
        this.leases.clear();
        for (const lease of event.leases) this.leases.set(lease.key, lease);
        break;
      case "added":
        this.leases.set(event.lease.key, event.lease);
        break;
      case "removed":
        this.leases.delete(event.lease.key);
        break;
    }
    for (const family of this.families) family.setLeases(this.leases.values());
  }

  /** One reconcile pass over every family; a family's failure does not stop the others. */
  reconcile(): { family: IpFamily; result?: ApplyResult; error?: unknown }[] {
    return this.families.map((family) => {
      try {
        return { family: family.family, result: family.reconcile() };
      } catch (error: unknown) {
        return { family: family.family, error };
      }
    });
  }
}

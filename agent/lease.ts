// The lease model shared by the node agent's lease stores (embedded file store, etcd) and its
// datapath: one pod subnet per node, advertised with the node's underlay address and VTEP MAC. The
// fields mirror flannel's LeaseAttrs, so that our agent and flanneld can share one etcd.

/** flannel's vxlan BackendData: `{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}` on the wire. */
export interface VxlanBackendData {
  readonly vni: number;
  readonly vtepMac: string;
}

/** What a node advertises with its subnet (flannel's LeaseAttrs). */
export interface LeaseAttrs {
  /** The node's underlay IPv4 address, the VXLAN `dst` peers program (PublicIP). */
  readonly publicIp: string;
  /** The node's underlay IPv6 address when IPv6 is enabled (PublicIPv6). */
  readonly publicIpv6?: string;
  readonly backendType: "vxlan";
  /** The IPv4 VXLAN device's VNI and MAC (BackendData). */
  readonly backendData?: VxlanBackendData;
  /** The IPv6 VXLAN device's VNI and MAC (BackendV6Data). */
  readonly backendV6Data?: VxlanBackendData;
}

/** One node's lease. At least one of `subnet` and `ipv6Subnet` is set. */
export interface Lease {
  /** The store key, in flannel's format: "10.244.1.0-24", or "10.244.1.0-24&fd00:10:244:1::-64". */
  readonly key: string;
  /** The node's IPv4 pod subnet, e.g. "10.244.1.0/24". */
  readonly subnet?: string;
  /** The node's IPv6 pod subnet, e.g. "fd00:10:244:1::/64". */
  readonly ipv6Subnet?: string;
  readonly attrs: LeaseAttrs;
  /** When the lease lapses unless renewed; undefined for a reservation (a key without a TTL). */
  readonly expiration?: Date;
}

/** The subnets a node asks for; the store derives the key from them. */
export type LeaseSubnets = Pick<Lease, "subnet" | "ipv6Subnet">;

/**
 * A change to the lease set. `snapshot` replaces everything the consumer knew (the first event of
 * a watch, and again whenever the store had to re-list, e.g. after etcd compacted the history the
 * watch needed); `added` also covers a lease whose attributes changed.
 */
export type LeaseEvent =
  | { readonly type: "snapshot"; readonly leases: readonly Lease[] }
  | { readonly type: "added"; readonly lease: Lease }
  | { readonly type: "removed"; readonly lease: Lease };

/**
 * The primitives a lease store offers. The subnet choice (keep this node's lease, else the subnet
 * of the previous subnet.env, else a random free one) is written once above this interface.
 */
export interface LeaseStore {
  /** The network config the store holds (etcd's `<prefix>/config`), as raw JSON text, if any. */
  readNetworkConfig(): Promise<string | undefined>;
  /** Every live lease (expired ones excluded) and reservation. */
  list(): Promise<Lease[]>;
  /**
   * Creates the lease atomically only if no lease or reservation holds its key (etcd: a
   * transaction on the key's version). Returns the lease as stored, or undefined if taken.
   */
  create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease | undefined>;
  /** Rewrites an existing lease's attributes and restarts its TTL (a reservation stays TTL-less). */
  renew(lease: Lease, attrs: LeaseAttrs, ttlSeconds: number): Promise<Lease>;
  /** Removes the lease; succeeds when it is already gone. */
  remove(key: string): Promise<void>;
  /**
   * Streams changes until `signal` aborts: first a snapshot, then events, with a fresh snapshot
   * whenever continuity was lost. Resolves when aborted.
   */
  watch(onEvent: (event: LeaseEvent) => void, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The lease under `key` as `event` leaves it: null when gone, undefined when the event is about others only. */
export function leaseAfter(event: LeaseEvent, key: string): Lease | null | undefined {
  switch (event.type) {
    case "snapshot":
      return event.leases.find((lease) => lease.key === key) ?? null;
    case "removed":
      return event.lease.key === key ? null : undefined;
    case "added":
      return event.lease.key === key ? event.lease : undefined;
  }
}

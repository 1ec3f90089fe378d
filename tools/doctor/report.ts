// What `tscni doctor` reports: the node's state as found (read-only) and the checks made on it.
// This is also the `--json` output, schema version 1 (docs/doctor.md): fields are only ever
// added; a change of meaning or a removal bumps DOCTOR_SCHEMA_VERSION.

export const DOCTOR_SCHEMA_VERSION = 1;

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export type CheckId =
  | "cni-config"
  | "cni-plugins"
  | "subnet-env"
  | "vxlan-device"
  | "peers"
  | "bridge-address"
  | "mtu"
  | "br-netfilter"
  | "forward-policy"
  | "ipam-leaks";

export interface CheckResult {
  readonly id: CheckId;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly summary: string;
  /** The findings behind a warn or fail, one per line. */
  readonly details: readonly string[];
  /** What to do about a warn or fail. */
  readonly fix?: string;
}

export type SubnetEnvState =
  | {
      readonly path: string;
      readonly state: "ok";
      readonly networks: readonly string[];
      readonly subnet: string | null;
      readonly ipv6Networks: readonly string[];
      readonly ipv6Subnet: string | null;
      readonly mtu: number;
      readonly ipMasq: boolean;
    }
  | {
      readonly path: string;
      readonly state: "missing" | "unreadable" | "invalid" | "incomplete";
      readonly error: string;
    };

/** A plugin a network configuration runs (its chain, IPAM and delegates), and where it was found. */
export interface RequiredPlugin {
  readonly type: string;
  /** The path in the CNI bin dirs, or null when it is not there. */
  readonly path: string | null;
}

export interface NetworkState {
  readonly file: string;
  readonly name: string;
  /** The first file in the conf dir: the network runtimes use by default. */
  readonly default: boolean;
  readonly plugins: readonly RequiredPlugin[];
  /** The bridge the network's pods hang off (bridge plugin, or flannel's bridge delegate). */
  readonly bridge: string | null;
  /** Why the bridge's expectations are unknown (e.g. flannel without subnet.env), if they are. */
  readonly problem: string | null;
}

export interface PortState {
  readonly name: string;
  readonly kind: string;
  readonly mtu: number;
  readonly up: boolean;
}

export interface BridgeState {
  readonly name: string;
  /** The networks whose pods use it. */
  readonly networks: readonly string[];
  readonly present: boolean;
  readonly up: boolean;
  readonly mtu: number | null;
  /** Global addresses, "10.244.1.1/24". */
  readonly addresses: readonly string[];
  readonly ports: readonly PortState[];
}

export interface VxlanState {
  readonly name: string;
  readonly vni: number;
  readonly mtu: number;
  readonly up: boolean;
  readonly local: string | null;
  readonly underlay: string | null;
  readonly addresses: readonly string[];
}

/** One lease of the store as a peer of a device, and whether the kernel has each of its entries. */
export interface PeerState {
  readonly lease: string;
  readonly subnet: string;
  readonly publicIp: string;
  readonly vtepMac: string;
  /** DirectRouting: a route via the peer's address, no VXLAN entries. */
  readonly direct: boolean;
  readonly route: boolean;
  /** null for a direct peer (it has none). */
  readonly neighbour: boolean | null;
  readonly fdb: boolean | null;
}

export interface DevicePeers {
  readonly device: string;
  readonly peers: readonly PeerState[];
  /** Leases that are not peers of this device, and why ("vni mismatch", "malformed"...). */
  readonly ignored: readonly { readonly lease: string; readonly reason: string }[];
  /** Kernel entries no lease accounts for. */
  readonly stale: {
    readonly routes: readonly string[];
    readonly neighbours: readonly string[];
    readonly fdb: readonly string[];
  };
}

export interface PeersState {
  /** "file:<dir>" or "etcd:<endpoints><prefix>". */
  readonly store: string;
  /** Why the leases could not be read, if they could not. */
  readonly error: string | null;
  readonly devices: readonly DevicePeers[];
}

/** live: its network namespace exists; gone: the namespace the runtime recorded is gone;
 * unrecorded: no runtime record names its namespace (libcni's cache has no entry). */
export type AttachmentState = "live" | "gone" | "unrecorded";

export interface ReservationState {
  readonly address: string;
  readonly containerId: string;
  readonly ifName: string | null;
  readonly attachment: AttachmentState;
  readonly netns: string | null;
}

export interface IpamNetworkState {
  readonly network: string;
  readonly dataDir: string;
  /** Per range set of the network's config: its ranges, how many addresses it has and holds. */
  readonly rangeSets: readonly { readonly ranges: string; readonly capacity: string; readonly reserved: number }[];
  readonly reservations: readonly ReservationState[];
}

export interface ForwardChainState {
  /** "iptables", "ip6tables", or "nft <family> <table> <chain>". */
  readonly source: string;
  readonly policy: string;
  /** Traffic from and to the cluster network is accepted there (our FLANNEL-FWD rules, or equivalent). */
  readonly acceptsClusterNetwork: boolean;
}

export interface DoctorReport {
  readonly schemaVersion: typeof DOCTOR_SCHEMA_VERSION;
  /** True when no check failed. */
  readonly ok: boolean;
  readonly subnetEnv: SubnetEnvState;
  readonly networks: readonly NetworkState[];
  readonly bridges: readonly BridgeState[];
  readonly vxlanDevices: readonly VxlanState[];
  readonly peers: PeersState;
  readonly ipam: readonly IpamNetworkState[];
  readonly forwarding: readonly ForwardChainState[];
  /** net.bridge.bridge-nf-call-iptables / -ip6tables: "1", "0", or null when br_netfilter is not loaded. */
  readonly brNetfilter: { readonly iptables: string | null; readonly ip6tables: string | null };
  readonly checks: readonly CheckResult[];
}

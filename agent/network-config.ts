// The overlay's network configuration, in flannel's net-conf.json format (the file given to the agent,
// or etcd's `<prefix>/config`), after defaults were filled and validation passed.

export interface VxlanBackendConfig {
  readonly type: "vxlan";
  /** VNI (default 1). */
  readonly vni: number;
  /** UDP port (default 8472, flannel's, not IANA's 4789). */
  readonly port: number;
  /** Device MTU; undefined: the underlay MTU minus the encapsulation overhead. */
  readonly mtu: number | undefined;
  readonly gbp: boolean;
  readonly learning: boolean;
  /** Plain routes instead of VXLAN to peers on the same L2 segment. */
  readonly directRouting: boolean;
}

export interface NetworkConfig {
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  /** The cluster's IPv4 pod network, e.g. "10.244.0.0/16" (set when enableIPv4). */
  readonly network: string | undefined;
  /** Prefix length of one node's subnet (default 24 for networks of /22 or larger). */
  readonly subnetLen: number;
  /** First and last subnet a node may lease, e.g. "10.244.1.0" and "10.244.255.0". */
  readonly subnetMin: string | undefined;
  readonly subnetMax: string | undefined;
  readonly ipv6Network: string | undefined;
  readonly ipv6SubnetLen: number;
  readonly ipv6SubnetMin: string | undefined;
  readonly ipv6SubnetMax: string | undefined;
  readonly backend: VxlanBackendConfig;
}

// Network configs and leases for the agent's tests.

import type { Lease } from "../../agent/lease";
import type { NetworkConfig, VxlanBackendConfig } from "../../agent/network-config";

export function networkConfig(
  overrides: Partial<Omit<NetworkConfig, "backend">> & { backend?: Partial<VxlanBackendConfig> } = {},
): NetworkConfig {
  const { backend, ...rest } = overrides;
  return {
    enableIPv4: true,
    enableIPv6: false,
    network: "10.244.0.0/16",
    subnetLen: 24,
    subnetMin: "10.244.1.0",
    subnetMax: "10.244.255.0",
    ipv6Network: undefined,
    ipv6SubnetLen: 64,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    ...rest,
    backend: {
      type: "vxlan",
      vni: 1,
      port: 8472,
      mtu: undefined,
      gbp: false,
      learning: false,
      directRouting: false,
      ...backend,
    },
  };
}

/** A lease of node `n`: 10.244.n.0/24 at 192.168.1.(10+n), VTEP MAC 02:00:00:00:00:n. */
export function lease(n: number, overrides: Partial<Lease> = {}): Lease {
  const mac = `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;
  return {
    key: `10.244.${n}.0-24`,
    subnet: `10.244.${n}.0/24`,
    attrs: { publicIp: `192.168.1.${10 + n}`, backendType: "vxlan", backendData: { vni: 1, vtepMac: mac } },
    expiration: new Date("2030-01-01T00:00:00Z"),
    ...overrides,
  };
}

// The chains the fault injection covers: both chains, each with either masquerade backend.

import type { ChainSpec } from "./node";

export const FAULT_CHAINS: readonly ChainSpec[] = [
  { kind: "bridge", backend: "iptables" },
  { kind: "bridge", backend: "nftables" },
  { kind: "flannel", backend: "iptables" },
  { kind: "flannel", backend: "nftables" },
];

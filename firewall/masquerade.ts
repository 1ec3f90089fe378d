// Masquerade for containers (the bridge plugin's `ipMasq` / `ipMasqBackend`): traffic from a
// container address to anything outside its subnet, except multicast, leaves with the host's
// address. Rules follow the reference plugins' layout in either backend (see
// iptables-masquerade.ts and nftables-masquerade.ts), so a node can move between the reference
// bridge and ours in either direction and each one's DEL cleans up the other's rules.

import { parseInterfaceAddress } from "./addresses";
import {
  gcIptablesMasquerade,
  IptablesUnavailableError,
  setupIptablesMasquerade,
  teardownIptablesMasquerade,
} from "./iptables-masquerade";
import { gcNftablesMasquerade, setupNftablesMasquerade, teardownNftablesMasquerade } from "./nftables-masquerade";
import { nftablesWorks, settleAll } from "./tools";

export type MasqueradeBackendName = "iptables" | "nftables";

export const MASQUERADE_BACKENDS: readonly MasqueradeBackendName[] = ["iptables", "nftables"];

export interface MasqueradeTarget {
  /** CNI network name. */
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  /** Container addresses as CIDRs, e.g. "10.22.0.5/24", "fd00::5/64". */
  readonly ips: readonly string[];
}

/**
 * Installs masquerade for traffic from each ip to destinations outside its subnet (not multicast).
 * Idempotent. `backend` undefined: iptables unless only nftables works, as the reference decides;
 * the choice costs nothing when iptables works, since its first write is also the check.
 */
export async function setupMasquerade(
  backend: MasqueradeBackendName | undefined,
  target: MasqueradeTarget,
): Promise<void> {
  const addresses = target.ips.map(parseInterfaceAddress);
  if (addresses.length === 0) return;
  if (backend === "nftables") return setupNftablesMasquerade(target, addresses);
  try {
    await setupIptablesMasquerade(target, addresses);
  } catch (error: unknown) {
    if (backend === undefined && error instanceof IptablesUnavailableError && (await nftablesWorks())) {
      // One family may have worked before another did not: take back what iptables got.
      await teardownIptablesMasquerade(target, addresses).catch(() => {});
      return setupNftablesMasquerade(target, addresses);
    }
    throw error;
  }
}

/**
 * Removes the rules of (network, containerId, ifName) from both backends. Needs no addresses (the
 * pod interface may be gone) and accepts any part of the rules being absent. A backend (or an
 * iptables family) that does not work here has nothing to remove; only failures of a working one
 * are reported.
 *
 * iptables rules carry no ifName: the chain of (network, containerId) is removed whole.
 */
export async function teardownMasquerade(target: MasqueradeTarget): Promise<void> {
  // The addresses only speed iptables up; a malformed one must not stop a DEL.
  const addresses = target.ips.flatMap((ip) => {
    try {
      return [parseInterfaceAddress(ip)];
    } catch {
      return [];
    }
  });
  await settleAll([teardownIptablesMasquerade(target, addresses), teardownNftablesMasquerade(target)]);
}

/**
 * Removes, from both backends, the rules of `network` whose attachment is not in `valid`.
 * iptables rules name only the container: they are kept while any attachment of it is valid.
 */
export async function gcMasquerade(
  network: string,
  valid: readonly { containerId: string; ifName: string }[],
): Promise<void> {
  const validContainers = new Set(valid.map((attachment) => attachment.containerId));
  await settleAll([gcIptablesMasquerade(network, validContainers), gcNftablesMasquerade(network, valid)]);
}

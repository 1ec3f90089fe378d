// ipMasq through the firewall module, loaded only by the commands that need it: it brings the
// iptables and nftables code with it, which an ADD without masquerade never pays for.

import type { Attachment } from "../../cni/plugin";
import type { MasqueradeBackendName, MasqueradeTarget } from "../../firewall/masquerade";

export type { MasqueradeTarget };

export async function setupIpMasq(backend: MasqueradeBackendName | undefined, target: MasqueradeTarget): Promise<void> {
  await (await import("../../firewall/masquerade")).setupMasquerade(backend, target);
}

export async function teardownIpMasq(target: MasqueradeTarget): Promise<void> {
  await (await import("../../firewall/masquerade")).teardownMasquerade(target);
}

export async function gcIpMasq(network: string, valid: readonly Attachment[]): Promise<void> {
  await (await import("../../firewall/masquerade")).gcMasquerade(network, valid);
}

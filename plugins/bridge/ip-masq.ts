// ipMasq through the firewall module, loaded only by the commands that need it (it brings the
// iptables and nftables code with it).

import type { Attachment } from "../../cni/plugin";
import type { IpMasqBackend } from "./config";

export interface MasqueradeTarget {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly ips: readonly string[];
}

export async function setupIpMasq(_backend: IpMasqBackend | undefined, _target: MasqueradeTarget): Promise<void> {
  throw new Error("ipMasq: the firewall module is not merged yet");
}

export async function teardownIpMasq(_target: MasqueradeTarget): Promise<void> {
  throw new Error("ipMasq: the firewall module is not merged yet");
}

export async function gcIpMasq(_network: string, _valid: readonly Attachment[]): Promise<void> {
  throw new Error("ipMasq: the firewall module is not merged yet");
}

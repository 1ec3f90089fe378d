// What a container's network leaves on a node, read with independent tools (ip, iptables-save, the
// file system), for the runtime tests' "nothing is left" checks; and the address a container
// reports for itself.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

import type { TestNetns } from "./netns";

/** Entries of `dir`, none when it does not exist. */
export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Host-local's reservations of `network` under `dataDir` (its lock and last-reserved files aside). */
export function reservations(dataDir: string, network: string): string[] {
  return filesIn(join(dataDir, network)).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
}

/** Names of the links enslaved to `bridge` in `ns` (the host ends of containers' veths). */
export function bridgePorts(ns: TestNetns, bridge: string): string[] {
  return ns
    .ipJson<{ ifname: string; master?: string }[]>("link", "show")
    .filter((l) => l.master === bridge)
    .map((l) => l.ifname);
}

/** The per-container masquerade chains (CNI-<24 hex digits>) in the nat table of `ns`. */
export function masqueradeChains(ns: TestNetns): string[] {
  return [...ns.exec("iptables-save", ["-t", "nat"]).stdout.matchAll(/^:(CNI-[0-9a-f]{24}) /gm)].map((m) => m[1] ?? "");
}

/** The IPv4 address with its prefix ("10.88.7.2/24") in `ip -o -4 addr show dev eth0` output. */
export function eth0Address(output: string): string {
  return /^\d+: eth0\s+inet (\S+)/m.exec(output)?.[1] ?? "";
}

// /run/flannel/subnet.env, in upstream flannel's format (the contract with the flannel CNI plugin
// and every tool that reads it): fixed line order, lines of a disabled family left out, written
// atomically so a reader never sees half a file. Reading goes through the plugin's parser.

import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { parseSubnetEnv } from "../plugins/flannel/subnet-env";
import { gatewayCidr } from "./datapath/addressing";

export interface SubnetEnv {
  /** FLANNEL_NETWORK: the cluster's IPv4 network. */
  readonly network?: string | undefined;
  /** This node's IPv4 subnet as a network ("10.244.1.0/24"); the file holds its gateway, .1/24. */
  readonly subnet?: string | undefined;
  readonly ipv6Network?: string | undefined;
  readonly ipv6Subnet?: string | undefined;
  readonly mtu: number;
  readonly ipMasq: boolean;
}

/** The file's text, upstream's line order. */
export function formatSubnetEnv(env: SubnetEnv): string {
  const lines: string[] = [];
  if (env.network !== undefined) lines.push(`FLANNEL_NETWORK=${env.network}`);
  if (env.subnet !== undefined) lines.push(`FLANNEL_SUBNET=${gatewayCidr(env.subnet)}`);
  if (env.ipv6Network !== undefined) lines.push(`FLANNEL_IPV6_NETWORK=${env.ipv6Network}`);
  if (env.ipv6Subnet !== undefined) lines.push(`FLANNEL_IPV6_SUBNET=${gatewayCidr(env.ipv6Subnet)}`);
  lines.push(`FLANNEL_MTU=${env.mtu}`, `FLANNEL_IPMASQ=${env.ipMasq}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The previous file's contents, or undefined when there is none. It is read by the flannel plugin's
 * parser, upstream's rules, so the agent and the plugin can never disagree about what the file
 * says; throws that parser's SubnetEnvError when the file cannot be used.
 */
export function readSubnetEnv(path: string): Partial<SubnetEnv> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const env = parseSubnetEnv(text, path);
  const fields: Partial<Record<keyof SubnetEnv, string | number | boolean | undefined>> = {
    // Upstream allows lists of networks; the agent writes one per family.
    network: env.networks[0],
    subnet: env.subnet,
    ipv6Network: env.ipv6Networks[0],
    ipv6Subnet: env.ipv6Subnet,
    mtu: env.mtu,
    ipMasq: env.ipMasq,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<SubnetEnv>;
}

/** Writes through a temporary file in the same directory and a rename; mode 0644, directory 0755. */
export function writeSubnetEnv(path: string, env: SubnetEnv): void {
  const directory = dirname(path);
  const firstCreated = mkdirSync(directory, { recursive: true, mode: 0o755 });
  // The umask may have narrowed the directories this call created (and only those are changed).
  for (let dir = directory; firstCreated !== undefined && dir.length >= firstCreated.length; dir = dirname(dir)) {
    chmodSync(dir, 0o755);
  }
  const temporary = join(directory, `.${path.slice(directory.length + 1)}.${process.pid}.tmp`);
  try {
    // A fresh file (never through a link someone left under that name), flushed before the rename.
    rmSync(temporary, { force: true });
    writeFileSync(temporary, formatSubnetEnv(env), { mode: 0o644, flag: "wx", flush: true });
    // The umask may have narrowed the mode at creation.
    chmodSync(temporary, 0o644);
    renameSync(temporary, path);
  } catch (error: unknown) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

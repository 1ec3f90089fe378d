// What "nothing changed on the host" compares, read with independent tools: links, addresses and
// routes of the host and pod namespaces (`ip -j`), the firewall of the host namespace
// (`iptables-save`, `ip6tables-save`, `nft list ruleset`), and every file under the worker's data
// and scratch dirs (type, mode, content).

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";

import type { Workspace } from "./workspace";

const exec = promisify(execFile);

/** Each part keyed by what was read ("host links", "pod routes6", "file data/fz-hl/lock"...). */
export type Snapshot = ReadonlyMap<string, string>;

async function output(command: string, args: readonly string[]): Promise<string> {
  const { stdout } = await exec(command, [...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** `ip -j` output with the fields that change on their own left out. */
async function ipJson(netns: string, args: readonly string[]): Promise<string> {
  const text = (await output("ip", ["-n", netns, "-j", ...args])).trim();
  return text === "" ? "[]" : JSON.stringify(JSON.parse(text));
}

/** Firewall dumps without the generator's comment lines and the packet counters. */
async function firewall(netns: string, command: string, args: readonly string[] = []): Promise<string> {
  const text = await output("ip", ["netns", "exec", netns, command, ...args]);
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .map((line) => line.replace(/\[\d+:\d+\]/g, "[counters]"))
    .join("\n");
}

function files(workspace: Workspace): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    const name = `file ${relative(workspace.root, path)}`;
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isDirectory()) {
      out.set(name, `dir ${mode}`);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else if (stat.isFile()) {
      out.set(name, `file ${mode} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`);
    } else {
      out.set(name, `other ${stat.mode.toString(8)}`);
    }
  };
  for (const dir of workspace.watchedDirs) walk(dir);
  return out;
}

export async function takeSnapshot(workspace: Workspace): Promise<Snapshot> {
  const host = workspace.host.name;
  const pod = workspace.pod.name;
  const parts: [string, Promise<string>][] = [
    ["host links", ipJson(host, ["-d", "link", "show"])],
    ["host addresses", ipJson(host, ["addr", "show"])],
    ["host routes4", ipJson(host, ["-4", "route", "show", "table", "all"])],
    ["host routes6", ipJson(host, ["-6", "route", "show", "table", "all"])],
    ["host iptables", firewall(host, "iptables-save")],
    ["host ip6tables", firewall(host, "ip6tables-save")],
    ["host nftables", firewall(host, "nft", ["list", "ruleset"])],
    ["pod links", ipJson(pod, ["-d", "link", "show"])],
    ["pod addresses", ipJson(pod, ["addr", "show"])],
    ["pod routes4", ipJson(pod, ["-4", "route", "show", "table", "all"])],
    ["pod routes6", ipJson(pod, ["-6", "route", "show", "table", "all"])],
  ];
  const values = await Promise.all(parts.map(([, value]) => value));
  const snapshot = new Map<string, string>(parts.map(([key], i) => [key, values[i]!]));
  for (const [key, value] of files(workspace)) snapshot.set(key, value);
  return snapshot;
}

export interface Difference {
  readonly key: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/**
 * What differs, less what `allowed` accepts. After a successful life cycle host-local leaves its
 * network directory, the lock file and the last-reserved markers, as the reference does.
 */
export function compareSnapshots(
  before: Snapshot,
  after: Snapshot,
  allowed: (d: Difference) => boolean = () => false,
): Difference[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const differences: Difference[] = [];
  for (const key of keys) {
    const difference = { key, before: before.get(key), after: after.get(key) };
    if (difference.before !== difference.after && !allowed(difference)) differences.push(difference);
  }
  return differences;
}

/** host-local's persistent state: a network's directory, its lock, its last-reserved markers. */
export function hostLocalLeftovers(difference: Difference): boolean {
  if (!difference.key.startsWith("file ")) return false;
  const name = difference.key.slice(difference.key.lastIndexOf("/") + 1);
  const isDirectoryAdded = difference.before === undefined && difference.after?.startsWith("dir ") === true;
  return isDirectoryAdded || name === "lock" || name.startsWith("last_reserved_ip.");
}

export function describeDifferences(differences: readonly Difference[]): string {
  const clip = (text: string | undefined): string =>
    text === undefined ? "(absent)" : text.length > 600 ? `${text.slice(0, 600)}…` : text;
  return differences.map((d) => `${d.key}: ${clip(d.before)} → ${clip(d.after)}`).join("\n");
}

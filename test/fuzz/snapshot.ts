// What "nothing changed on the host" compares, read with independent tools: links, addresses and
// routes of the host and pod namespaces (`ip -j`), the firewall of the host namespace
// (`iptables-save`, `ip6tables-save`, `nft list ruleset`), and every file under the worker's data
// and scratch dirs. A snapshot is a set of one-line items ("host link fzbr0 kind=bridge ...",
// "host nft ip nat/POSTROUTING: ip saddr ... masquerade", "file data/fz-hl/lock ..."), so that a
// difference is a list of items added and removed, and a plugin's documented persistent state can
// be told apart item by item.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";

import type { Workspace } from "./workspace";

const exec = promisify(execFile);

export type Snapshot = ReadonlySet<string>;

async function output(command: string, args: readonly string[]): Promise<string> {
  const { stdout } = await exec(command, [...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function ipJson(netns: string, args: readonly string[]): Promise<Record<string, unknown>[]> {
  const text = (await output("ip", ["-n", netns, "-j", ...args])).trim();
  return text === "" ? [] : (JSON.parse(text) as Record<string, unknown>[]);
}

const field = (value: unknown): string => (value === undefined || value === null ? "-" : String(value));

/** Link state that changes on its own (carrier, operstate, statistics) is left out. */
function linkItem(ns: string, link: Record<string, unknown>): string {
  const info = (link["linkinfo"] ?? {}) as { info_kind?: string; info_data?: Record<string, unknown> };
  const flags = ((link["flags"] ?? []) as string[]).filter((f) => !["LOWER_UP", "NO-CARRIER", "M-DOWN"].includes(f));
  return [
    `${ns} link ${field(link["ifname"])}`,
    `kind=${field(info.info_kind)}`,
    `peer=${field(link["link"])}`,
    `master=${field(link["master"])}`,
    `mtu=${field(link["mtu"])}`,
    `qdisc=${field(link["qdisc"])}`,
    `mac=${field(link["address"])}`,
    `flags=${flags.sort().join(",")}`,
    `promisc=${field(link["promiscuity"])}`,
    `vlan_filtering=${field(info.info_data?.["vlan_filtering"])}`,
  ].join(" ");
}

function addressItems(ns: string, link: Record<string, unknown>): string[] {
  const infos = (link["addr_info"] ?? []) as Record<string, unknown>[];
  return infos.map(
    (a) =>
      `${ns} address dev=${field(link["ifname"])} ${field(a["local"])}/${field(a["prefixlen"])} scope=${field(a["scope"])}`,
  );
}

function routeItem(ns: string, family: string, route: Record<string, unknown>): string {
  const keys = ["table", "type", "dst", "dev", "gateway", "protocol", "scope", "prefsrc", "metric"];
  return `${ns} route${family} ${keys.map((key) => `${key}=${field(route[key])}`).join(" ")}`;
}

async function netnsItems(ns: string, name: string): Promise<string[]> {
  const [links, addresses, routes4, routes6] = await Promise.all([
    ipJson(name, ["-d", "link", "show"]),
    ipJson(name, ["addr", "show"]),
    ipJson(name, ["-4", "route", "show", "table", "all"]),
    ipJson(name, ["-6", "route", "show", "table", "all"]),
  ]);
  return [
    ...links.map((link) => linkItem(ns, link)),
    ...addresses.flatMap((link) => addressItems(ns, link)),
    ...routes4.map((route) => routeItem(ns, "4", route)),
    ...routes6.map((route) => routeItem(ns, "6", route)),
  ];
}

/** iptables-save lines with their table, without comments and packet counters. */
async function iptablesItems(ns: string, netns: string, command: string): Promise<string[]> {
  const text = await output("ip", ["netns", "exec", netns, command]);
  let table = "";
  const items: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) table = line.slice(1);
    items.push(`${ns} ${command} ${table}: ${line.replace(/\[\d+:\d+\]/g, "[counters]")}`);
  }
  return items;
}

/** nft ruleset lines with the table and chain they are in. */
async function nftItems(ns: string, netns: string): Promise<string[]> {
  const text = await output("ip", ["netns", "exec", netns, "nft", "list", "ruleset"]);
  const context: string[] = [];
  const items: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line === "}") {
      context.pop();
      continue;
    }
    items.push(`${ns} nft ${context.join("/")}: ${line}`);
    const opened = /^(?:table|chain|set|map|flowtable)\s+(.*?)\s*\{$/.exec(line);
    if (opened !== null) context.push(opened[1]!);
  }
  return items;
}

function fileItems(workspace: Workspace): string[] {
  const items: string[] = [];
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    const name = `file ${relative(workspace.root, path)}`;
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isDirectory()) {
      items.push(`${name} dir ${mode}`);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else if (stat.isFile()) {
      items.push(`${name} file ${mode} ${createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16)}`);
    } else {
      items.push(`${name} other ${stat.mode.toString(8)}`);
    }
  };
  for (const dir of workspace.watchedDirs) walk(dir);
  return items;
}

export async function takeSnapshot(workspace: Workspace): Promise<Snapshot> {
  const host = workspace.host.name;
  const parts = await Promise.all([
    netnsItems("host", host),
    netnsItems("pod", workspace.pod.name),
    iptablesItems("host", host, "iptables-save"),
    iptablesItems("host", host, "ip6tables-save"),
    nftItems("host", host),
  ]);
  return new Set([...parts.flat(), ...fileItems(workspace)]);
}

export interface Difference {
  readonly item: string;
  readonly change: "added" | "removed";
}

/** Whether a difference is state a plugin documents as persistent; the snapshots give the context. */
export type Leftovers = (
  difference: Difference,
  snapshots: { readonly before: Snapshot; readonly after: Snapshot },
) => boolean;

export const nothingLeft: Leftovers = () => false;

/** The items added and removed, less what `allowed` accepts. */
export function compareSnapshots(before: Snapshot, after: Snapshot, allowed: Leftovers = nothingLeft): Difference[] {
  const differences: Difference[] = [
    ...[...after].filter((item) => !before.has(item)).map((item) => ({ item, change: "added" as const })),
    ...[...before].filter((item) => !after.has(item)).map((item) => ({ item, change: "removed" as const })),
  ];
  return differences.filter((difference) => !allowed(difference, { before, after }));
}

export function describeDifferences(differences: readonly Difference[]): string {
  const clip = (text: string): string => (text.length > 400 ? `${text.slice(0, 400)}…` : text);
  return differences.map((d) => `${d.change === "added" ? "+" : "-"} ${clip(d.item)}`).join("\n");
}

// What a test can see of the machine's own network namespace, read-only: links, addresses, routes
// and rules of both families, iptables and nftables rules, and the forwarding and per-interface
// sysctls. Two snapshots compare equal unless something changed the root namespace in between.
// Counters, lifetimes and timestamps are left out: they change by themselves.

import { run, runOk } from "./run";

export interface RootNetnsSnapshot {
  readonly links: unknown;
  readonly addresses: unknown;
  readonly routes: unknown;
  readonly rules: unknown;
  readonly iptables: string;
  readonly nftables: string;
  readonly sysctls: string;
}

const json = (...args: string[]): unknown[] => JSON.parse(runOk("ip", ["-j", ...args]) || "[]") as unknown[];

const pick = (item: unknown, keys: readonly string[]) =>
  Object.fromEntries(keys.map((key) => [key, (item as Record<string, unknown>)[key]]));

const withoutCounters = (text: string) =>
  text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .map((line) => line.replace(/\[\d+:\d+\]/g, "").replace(/counter packets \d+ bytes \d+/g, "counter"))
    .join("\n");

export function rootNetnsSnapshot(): RootNetnsSnapshot {
  return {
    links: json("link", "show").map((l) => pick(l, ["ifindex", "ifname", "link_type", "address", "mtu", "master"])),
    addresses: json("addr", "show").map((l) => ({
      ifname: (l as { ifname: string }).ifname,
      addresses: ((l as { addr_info: unknown[] }).addr_info ?? []).map((a) => pick(a, ["local", "prefixlen"])),
    })),
    routes: [...json("-4", "route", "show", "table", "all"), ...json("-6", "route", "show", "table", "all")].map((r) =>
      pick(r, ["type", "dst", "gateway", "dev", "table", "protocol", "scope", "prefsrc", "metric"]),
    ),
    rules: [...json("-4", "rule", "show"), ...json("-6", "rule", "show")],
    iptables: withoutCounters(runOk("iptables-save", []) + runOk("ip6tables-save", [])),
    nftables: withoutCounters(runOk("nft", ["list", "ruleset"])),
    sysctls: run("sysctl", ["-a", "--pattern", String.raw`^net\.ipv4\.ip_forward$|^net\.(ipv4|ipv6)\.conf\.`]).stdout,
  };
}

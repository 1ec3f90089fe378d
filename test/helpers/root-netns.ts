// The root network namespace as tests must leave it: links, addresses, routes of every table and
// the firewall (iptables, ip6tables, nftables), read with read-only commands and normalised so that
// only a change made by someone shows (packet counters and generated timestamps are dropped).
// Tests that start real runtimes take a snapshot before and compare after.

import { runOk } from "./run";

export interface RootNetnsState {
  readonly links: readonly string[];
  readonly addresses: readonly string[];
  readonly routes: readonly string[];
  readonly iptables: string;
  readonly ip6tables: string;
  readonly nftables: string;
}

interface IpLink {
  readonly ifname: string;
  readonly link_type?: string;
  readonly address?: string;
  readonly mtu?: number;
  readonly master?: string;
  readonly flags?: readonly string[];
}
interface IpAddr {
  readonly ifname: string;
  readonly addr_info: readonly { readonly local: string; readonly prefixlen: number }[];
}
type IpRoute = Readonly<Record<string, unknown>>;

const json = <T>(args: readonly string[]): T[] => {
  const out = runOk("ip", ["-j", ...args]).trim();
  return out === "" ? [] : (JSON.parse(out) as T[]);
};

/** Route attributes that describe the route itself (not its age or cache state). */
const ROUTE_KEYS = ["type", "dst", "gateway", "dev", "table", "protocol", "scope", "prefsrc", "metric"] as const;

export function rootNetnsState(): RootNetnsState {
  const routes = [
    ...json<IpRoute>(["-4", "route", "show", "table", "all"]),
    ...json<IpRoute>(["-6", "route", "show", "table", "all"]),
  ];
  return {
    links: json<IpLink>(["link", "show"]).map(
      (l) =>
        `${l.ifname} ${l.link_type ?? ""} ${l.address ?? ""} mtu ${l.mtu ?? ""} master ${l.master ?? ""} ${(l.flags ?? []).join(",")}`,
    ),
    addresses: json<IpAddr>(["addr", "show"]).flatMap((a) =>
      a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`),
    ),
    routes: routes.map((r) => ROUTE_KEYS.map((k) => `${k}=${String(r[k] ?? "")}`).join(" ")).sort(),
    iptables: withoutCounters(runOk("iptables-save", [])),
    ip6tables: withoutCounters(runOk("ip6tables-save", [])),
    nftables: runOk("nft", ["list", "ruleset"]).replace(/counter packets \d+ bytes \d+/g, "counter"),
  };
}

function withoutCounters(saved: string): string {
  return saved
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .map((line) => line.replace(/\[\d+:\d+\]/g, "[]"))
    .join("\n");
}

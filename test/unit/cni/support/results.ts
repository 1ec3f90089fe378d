// One rich result (two IPv4 addresses and one IPv6, routes of both families, every 1.1 field) and
// its exact JSON in each spec version, written out by hand from the spec's schemas (reference
// notes 1.5 and 1.6) and docs/decisions.md, not computed by the code under test.

import type { Result } from "../../../../cni/result";
import type { SpecVersion } from "../../../../cni/version";

export const RICH_RESULT: Result = {
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:16:00:01" },
    {
      name: "eth0",
      mac: "0a:58:0a:16:00:05",
      mtu: 1450,
      sandbox: "/run/netns/pod",
      socketPath: "/run/vhost-user.sock",
      pciID: "0000:00:1f.6",
    },
  ],
  ips: [
    { interface: 1, address: "10.22.0.5/24", gateway: "10.22.0.1" },
    { interface: 1, address: "10.23.0.5/24", gateway: "10.23.0.1" },
    { interface: 1, address: "fd00:22::5/64", gateway: "fd00:22::1" },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.22.0.1", mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 },
    { dst: "10.96.0.0/12" },
    { dst: "::/0", gw: "fd00:22::1" },
  ],
  dns: {
    nameservers: ["10.96.0.10"],
    domain: "cluster.local",
    search: ["default.svc.cluster.local"],
    options: ["ndots:5"],
  },
};

const DNS = RICH_RESULT.dns;

/** 0.1.0/0.2.0: the first address of each family; routes nested by the family of dst; no interfaces. */
const shape02 = (cniVersion: SpecVersion): Record<string, unknown> => ({
  cniVersion,
  ip4: {
    ip: "10.22.0.5/24",
    gateway: "10.22.0.1",
    routes: [{ dst: "0.0.0.0/0", gw: "10.22.0.1" }, { dst: "10.96.0.0/12" }],
  },
  ip6: { ip: "fd00:22::5/64", gateway: "fd00:22::1", routes: [{ dst: "::/0", gw: "fd00:22::1" }] },
  dns: DNS,
});

const INTERFACES_BEFORE_11 = [
  { name: "cni0", mac: "0a:58:0a:16:00:01" },
  { name: "eth0", mac: "0a:58:0a:16:00:05", sandbox: "/run/netns/pod" },
];
const ROUTES_BEFORE_11 = [
  { dst: "0.0.0.0/0", gw: "10.22.0.1" },
  { dst: "10.96.0.0/12" },
  { dst: "::/0", gw: "fd00:22::1" },
];

/** 0.3.0 to 0.4.0: ips carry a "version"; no 1.1 fields. */
const shape04 = (cniVersion: SpecVersion): Record<string, unknown> => ({
  cniVersion,
  interfaces: INTERFACES_BEFORE_11,
  ips: [
    { version: "4", interface: 1, address: "10.22.0.5/24", gateway: "10.22.0.1" },
    { version: "4", interface: 1, address: "10.23.0.5/24", gateway: "10.23.0.1" },
    { version: "6", interface: 1, address: "fd00:22::5/64", gateway: "fd00:22::1" },
  ],
  routes: ROUTES_BEFORE_11,
  dns: DNS,
});

const IPS_1X = [
  { interface: 1, address: "10.22.0.5/24", gateway: "10.22.0.1" },
  { interface: 1, address: "10.23.0.5/24", gateway: "10.23.0.1" },
  { interface: 1, address: "fd00:22::5/64", gateway: "fd00:22::1" },
];

/** RICH_RESULT as each version prints it. */
export const RICH_JSON: Readonly<Record<SpecVersion, Record<string, unknown>>> = {
  "0.1.0": shape02("0.1.0"),
  "0.2.0": shape02("0.2.0"),
  "0.3.0": shape04("0.3.0"),
  "0.3.1": shape04("0.3.1"),
  "0.4.0": shape04("0.4.0"),
  "1.0.0": { cniVersion: "1.0.0", interfaces: INTERFACES_BEFORE_11, ips: IPS_1X, routes: ROUTES_BEFORE_11, dns: DNS },
  // 1.1.0 holds every field of the internal shape.
  "1.1.0": {
    cniVersion: "1.1.0",
    interfaces: RICH_RESULT.interfaces,
    ips: IPS_1X,
    routes: RICH_RESULT.routes,
    dns: DNS,
  },
};

/** What reading RICH_JSON[version] gives back: each version keeps only what its schema holds. */
export const RICH_DECODED: Readonly<Record<"0.2" | "0.4" | "1.0" | "1.1", Result>> = {
  "0.2": {
    interfaces: [],
    ips: [
      { address: "10.22.0.5/24", gateway: "10.22.0.1" },
      { address: "fd00:22::5/64", gateway: "fd00:22::1" },
    ],
    routes: [{ dst: "0.0.0.0/0", gw: "10.22.0.1" }, { dst: "10.96.0.0/12" }, { dst: "::/0", gw: "fd00:22::1" }],
    dns: DNS,
  },
  "0.4": { interfaces: INTERFACES_BEFORE_11, ips: IPS_1X, routes: ROUTES_BEFORE_11, dns: DNS },
  "1.0": { interfaces: INTERFACES_BEFORE_11, ips: IPS_1X, routes: ROUTES_BEFORE_11, dns: DNS },
  "1.1": RICH_RESULT,
};

/** Which of RICH_DECODED reading RICH_JSON[version] gives. */
export const DECODED_FAMILY: Readonly<Record<SpecVersion, keyof typeof RICH_DECODED>> = {
  "0.1.0": "0.2",
  "0.2.0": "0.2",
  "0.3.0": "0.4",
  "0.3.1": "0.4",
  "0.4.0": "0.4",
  "1.0.0": "1.0",
  "1.1.0": "1.1",
};

const FAMILY_OF: Readonly<Record<SpecVersion, "0.2" | "0.4" | "1.x">> = {
  "0.1.0": "0.2",
  "0.2.0": "0.2",
  "0.3.0": "0.4",
  "0.3.1": "0.4",
  "0.4.0": "0.4",
  "1.0.0": "1.x",
  "1.1.0": "1.x",
};

/**
 * RICH_JSON[from], read and printed again in `to`: exactly RICH_JSON[to] unless `from` lacked
 * something `to` can hold (0.1/0.2 hold no interfaces and one address per family; only 1.1 holds
 * the 1.1 fields).
 */
export function richConverted(from: SpecVersion, to: SpecVersion): Record<string, unknown> {
  const read = DECODED_FAMILY[from];
  if (read === "1.1" || (read !== "0.2" && to !== "1.1.0") || (read === "0.2" && FAMILY_OF[to] === "0.2")) {
    return RICH_JSON[to];
  }
  if (read !== "0.2") {
    return { cniVersion: to, interfaces: INTERFACES_BEFORE_11, ips: IPS_1X, routes: ROUTES_BEFORE_11, dns: DNS };
  }
  const withVersion = FAMILY_OF[to] === "0.4";
  return {
    cniVersion: to,
    ips: [
      { ...(withVersion ? { version: "4" } : {}), address: "10.22.0.5/24", gateway: "10.22.0.1" },
      { ...(withVersion ? { version: "6" } : {}), address: "fd00:22::5/64", gateway: "fd00:22::1" },
    ],
    routes: ROUTES_BEFORE_11,
    dns: DNS,
  };
}

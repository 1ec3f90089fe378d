// What an attachment can leave behind on a node, read with independent tools: the files in the data
// dirs, `ip -j link`, `iptables-save`/`ip6tables-save`, `nft -j list ruleset` (all in the node's
// namespace), `flock -n` on the lock files, libcni's cache directory. Everything found is attributed
// to a container ID where it names one; what is kept (a bystander pod) is named by the caller, and
// everything else counts as left behind. Names are recomputed here from the reference's formulas,
// not taken from our code.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

import type { TestNetns } from "../helpers/netns";
import { run } from "../helpers/run";
import type { Chain, ReliabilityNode } from "./node";

export const LEFTOVER_KINDS = [
  "reservation",
  "partial file",
  "veth",
  "masquerade rule",
  "saved delegate config",
  "cache entry",
  "lock held",
  "pod interface",
] as const;
export type LeftoverKind = (typeof LEFTOVER_KINDS)[number];

export interface Leftover {
  readonly kind: LeftoverKind;
  readonly what: string;
  /** The container the item names, when it names one. */
  readonly owner?: string;
}

/** What may stay: the attachments still live on the node (container IDs and host veth names). */
export interface Keep {
  readonly containerIds: ReadonlySet<string>;
  readonly veths: ReadonlySet<string>;
}

export const NOTHING_KEPT: Keep = { containerIds: new Set(), veths: new Set() };

/** Everything on the node that belongs to no kept attachment. */
export function leftovers(node: ReliabilityNode, keep: Keep = NOTHING_KEPT): Leftover[] {
  const found = [
    ...node.chains.flatMap((chain) => [
      ...reservationFiles(node, chain),
      ...savedConfigs(node, chain),
      ...busyLocks(node, chain),
    ]),
    ...hostVeths(node)
      .filter((name) => !keep.veths.has(name))
      .map((name): Leftover => ({ kind: "veth", what: name })),
    ...iptablesRules(node, keep),
    ...nftRules(node),
    ...cacheEntries(node),
  ];
  return found.filter((item) => item.owner === undefined || !keep.containerIds.has(item.owner));
}

/** The pod's interfaces other than lo (a DEL must leave none of ours). */
export function podInterfaces(ns: TestNetns): Leftover[] {
  return ns
    .ipJson<{ ifname: string }[]>("link", "show")
    .filter((link) => link.ifname !== "lo")
    .map((link) => ({ kind: "pod interface", what: link.ifname }));
}

const RESERVATION = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\r\n(\S+)$/;

/** host-local: one file per address holding "<containerID>\r\n<ifname>"; anything else is partial. */
function reservationFiles(node: ReliabilityNode, chain: Chain): Leftover[] {
  const dir = node.view(chain.reservationDir);
  return listDir(dir).flatMap((name): Leftover[] => {
    const path = join(dir, name);
    if (name === "lock") return [];
    const content = readFileSync(path, "utf8");
    if (name.startsWith("last_reserved_ip.")) {
      return isIP(content) === 0 ? [{ kind: "partial file", what: `${path} (${JSON.stringify(content)})` }] : [];
    }
    const match = RESERVATION.exec(content);
    if (isIP(name) === 0 || match === null) {
      return [{ kind: "partial file", what: `${path} (${JSON.stringify(content)})` }];
    }
    return [{ kind: "reservation", what: `${chain.network} ${name}`, ...ownerOf(match[1]) }];
  });
}

/** flannel: one file per container ID holding the delegate's JSON; temporary or unreadable ones are partial. */
function savedConfigs(node: ReliabilityNode, chain: Chain): Leftover[] {
  if (chain.flannelDir === undefined) return [];
  const dir = node.view(chain.flannelDir);
  return listDir(dir).map((name): Leftover => {
    const path = join(dir, name);
    if (name.startsWith(".") || !isJsonObject(readFileSync(path, "utf8"))) return { kind: "partial file", what: path };
    return { kind: "saved delegate config", what: path, owner: name };
  });
}

function busyLocks(node: ReliabilityNode, chain: Chain): Leftover[] {
  const lock = node.view(join(chain.reservationDir, "lock"));
  if (!existsSync(lock)) return [];
  const probe = run("flock", ["--nonblock", "--conflict-exit-code", "99", lock, "true"]);
  if (probe.status === 0) return [];
  return [{ kind: "lock held", what: `${lock} (flock exit ${probe.status ?? probe.signal})` }];
}

/** The host ends of pod veths (the reference's `veth` + 8 hex digits) in the node's namespace. */
export function hostVeths(node: ReliabilityNode): string[] {
  return node.host
    .ipJson<{ ifname: string }[]>("link", "show", "type", "veth")
    .map((link) => link.ifname)
    .filter((name) => /^veth[0-9a-f]{8}$/.test(name));
}

const IPTABLES_OWNER = /--comment "name: \\"([^\\"]+)\\" id: \\"([^\\"]+)\\""/;

/**
 * The masquerade chains (`CNI-` + 24 hex digits) and every rule naming one, in both families. A
 * chain of a kept container is recognised by its name, sha512(network + containerID).
 */
function iptablesRules(node: ReliabilityNode, keep: Keep): Leftover[] {
  const keptChains = new Set(
    node.chains.flatMap((chain) => [...keep.containerIds].map((id) => chainName(chain.network, id))),
  );
  return (["iptables-save", "ip6tables-save"] as const).flatMap((tool) => {
    const text = node.host.exec(tool, ["-t", "nat"]).stdout;
    return text.split("\n").flatMap((line): Leftover[] => {
      const declared = /^:(CNI-[0-9a-f]{24}) /.exec(line)?.[1];
      if (declared !== undefined) {
        return keptChains.has(declared) ? [] : [{ kind: "masquerade rule", what: `${tool}: chain ${declared}` }];
      }
      const owner = IPTABLES_OWNER.exec(line)?.[2];
      if (!line.startsWith("-A ") || owner === undefined) return [];
      return [{ kind: "masquerade rule", what: `${tool}: ${line}`, owner }];
    });
  });
}

const chainName = (network: string, containerId: string): string =>
  `CNI-${createHash("sha512")
    .update(network + containerId)
    .digest("hex")
    .slice(0, 24)}`;

/** The rules of the reference's masquerade table, each naming its container in its comment. */
function nftRules(node: ReliabilityNode): Leftover[] {
  const listing = JSON.parse(node.host.exec("nft", ["-j", "list", "ruleset"]).stdout || "{}") as {
    nftables?: { rule?: { table: string; chain: string; comment?: string; handle: number } }[];
  };
  return (listing.nftables ?? []).flatMap((item): Leftover[] => {
    const rule = item.rule;
    if (rule?.table !== "cni_plugins_masquerade" || rule.chain !== "masq_checks") return [];
    const owner = / id: (\S+)$/.exec(rule.comment ?? "")?.[1];
    return [
      {
        kind: "masquerade rule",
        what: `nft: masq_checks rule ${rule.handle} ${rule.comment ?? ""}`,
        ...ownerOf(owner),
      },
    ];
  });
}

/** libcni's result cache: <cacheDir>/results/<network>-<containerID>-<ifname>. */
function cacheEntries(node: ReliabilityNode): Leftover[] {
  const dir = join(node.workspace.cacheDir, "results");
  return listDir(dir).map((name) => ({
    kind: "cache entry",
    what: join(dir, name),
    ...ownerOf(/(cnitool-[0-9a-f]{20})/.exec(name)?.[1]),
  }));
}

const ownerOf = (owner: string | undefined): { owner?: string } => (owner === undefined ? {} : { owner });

function listDir(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir);
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}

/** Counts per kind, every kind listed (zeros included), for the figures. */
export function countByKind(items: readonly Leftover[]): Record<LeftoverKind, number> {
  const counts = Object.fromEntries(LEFTOVER_KINDS.map((kind) => [kind, 0])) as Record<LeftoverKind, number>;
  for (const item of items) counts[item.kind] += 1;
  return counts;
}

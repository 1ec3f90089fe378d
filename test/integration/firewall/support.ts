// Running the firewall code inside a test namespace (through entry.ts) and reading the kernel's
// rules back with the tools themselves (iptables-save, nft -j) as the independent oracle.

import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { TestNetns } from "../../helpers/netns";
import type { RunResult } from "../../helpers/run";
import { REPO_ROOT, scratchDir } from "../../helpers/suite";
import type { Operation } from "./entry";

const ENTRY = join(import.meta.dirname, "entry.ts");
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

export interface Outcome {
  readonly status: number | null;
  /** One parsed line per operation run (the last one carries `error` when the run failed). */
  readonly results: readonly {
    op: string;
    result?: unknown;
    error?: { name: string; message: string; stderr?: string; exitStatus?: number };
  }[];
  readonly raw: RunResult;
}

/** Runs operations in `ns`; `pathPrefix` puts a directory of stand-in tools before the system's. */
export function firewall(ns: TestNetns, operations: readonly Operation[], pathPrefix?: string): Outcome {
  const path = pathPrefix === undefined ? SYSTEM_PATH : `${pathPrefix}:${SYSTEM_PATH}`;
  const raw = ns.exec(
    "env",
    [
      "-u",
      "NODE_EXTRA_CA_CERTS",
      `PATH=${path}`,
      process.execPath,
      "--import",
      "tsx",
      ENTRY,
      JSON.stringify(operations),
    ],
    { cwd: REPO_ROOT },
  );
  const results = raw.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Outcome["results"][number]);
  return { status: raw.status, results, raw };
}

/** Like firewall(), failing the test with the run's output when an operation fails. */
export function firewallOk(ns: TestNetns, operations: readonly Operation[], pathPrefix?: string): void {
  const outcome = firewall(ns, operations, pathPrefix);
  if (outcome.status !== 0) {
    throw new Error(`firewall operations failed (${outcome.status}):\n${outcome.raw.stdout}${outcome.raw.stderr}`);
  }
}

export type Family = 4 | 6;

/** The `-A` lines of a table, as iptables-save (or another save tool, e.g. the legacy one) prints them. */
export function iptablesRules(ns: TestNetns, family: Family, table = "nat", saveTool?: string): string[] {
  const tool = saveTool ?? (family === 4 ? "iptables-save" : "ip6tables-save");
  const out = ns.exec(tool, ["-t", table]);
  if (out.status !== 0) throw new Error(`${tool} failed: ${out.stderr}`);
  return out.stdout.split("\n").filter((line) => line.startsWith("-A "));
}

/** The user-defined chains of a table. */
export function iptablesChains(ns: TestNetns, family: Family, table = "nat", saveTool?: string): string[] {
  const tool = saveTool ?? (family === 4 ? "iptables-save" : "ip6tables-save");
  return ns
    .exec(tool, ["-t", table])
    .stdout.split("\n")
    .filter((line) => /^:\S+ - /.test(line))
    .map((line) => line.slice(1).split(" ")[0] ?? "");
}

/** Applies a restore script in `ns` (to build rule sets as other programs leave them). */
export function iptablesRestore(ns: TestNetns, family: Family, script: string): void {
  const out = ns.exec(family === 4 ? "iptables-restore" : "ip6tables-restore", ["--noflush"], { input: script });
  if (out.status !== 0) throw new Error(`restore failed: ${out.stderr}`);
}

export function nftApplyIn(ns: TestNetns, script: string): void {
  const out = ns.exec("nft", ["-f", "-"], { input: script });
  if (out.status !== 0) throw new Error(`nft -f failed: ${out.stderr}`);
}

export interface NftRuleView {
  readonly table: string; // "<family> <name>"
  readonly chain: string;
  readonly comment: string | undefined;
  /** The rule's expressions rendered compactly, e.g. "ip saddr == 10.0.0.5 ip daddr != 10.0.0.0/24 masquerade". */
  readonly text: string;
}

type Json = Record<string, unknown>;

/** Every table and rule of `nft -j list ruleset` in `ns`. */
export function nftRuleset(ns: TestNetns): { tables: string[]; rules: NftRuleView[] } {
  const out = ns.exec("nft", ["-j", "list", "ruleset"]);
  if (out.status !== 0) throw new Error(`nft list ruleset failed: ${out.stderr}`);
  const items = (JSON.parse(out.stdout) as { nftables: Json[] }).nftables;
  const tables = items.flatMap((item) => {
    const table = item["table"] as Json | undefined;
    return table === undefined ? [] : [`${String(table["family"])} ${String(table["name"])}`];
  });
  const rules = items.flatMap((item) => {
    const rule = item["rule"] as Json | undefined;
    if (rule === undefined) return [];
    return [
      {
        table: `${String(rule["family"])} ${String(rule["table"])}`,
        chain: String(rule["chain"]),
        comment: rule["comment"] as string | undefined,
        text: (rule["expr"] as Json[]).map(renderExpression).join(" "),
      },
    ];
  });
  return { tables, rules };
}

function renderExpression(expression: Json): string {
  const [kind, body] = Object.entries(expression)[0] ?? ["?", undefined];
  if (kind === "match") {
    const match = body as { op: string; left: Json; right: unknown };
    const payload = match.left["payload"] as { protocol: string; field: string } | undefined;
    const left = payload !== undefined ? `${payload.protocol} ${payload.field}` : JSON.stringify(match.left);
    const prefix = (match.right as { prefix?: { addr: string; len: number } } | null)?.prefix;
    const right = prefix !== undefined ? `${prefix.addr}/${prefix.len}` : JSON.stringify(match.right);
    return `${left} ${match.op} ${right.replace(/^"(.*)"$/, "$1")}`;
  }
  if (kind === "goto" || kind === "jump") return `${kind} ${String((body as Json)["target"])}`;
  const flags = (body as { flags?: string[] | string } | null)?.flags;
  return flags === undefined ? kind : `${kind} ${[flags].flat().join(",")}`;
}

/**
 * A directory of stand-in tools for PATH: `links` maps a tool name to a real program, `failing`
 * names tools that exit 1 with a message, as iptables does on a kernel without its tables.
 */
export function toolDirectory(
  label: string,
  links: Readonly<Record<string, string>>,
  failing: readonly string[] = [],
): { path: string; remove(): void } {
  const root = scratchDir(label);
  const dir = join(root, "bin");
  mkdirSync(dir);
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, name));
  for (const name of failing) {
    const path = join(dir, name);
    writeFileSync(
      path,
      `#!/bin/sh\necho "${name}: can't initialize iptables table: Table does not exist" >&2\nexit 1\n`,
    );
    chmodSync(path, 0o755);
  }
  return { path: dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

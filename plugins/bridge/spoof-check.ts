// macspoofchk: frames entering the bridge from the host end must carry the container's MAC. The
// rules are the reference's (nftables family bridge, table nat, base chain PREROUTING at priority
// -300, two chains per attachment, every rule commented "macspoofchk-<containerID>-<ifname>"), so
// either plugin removes what the other made. nft is run without a shell, with JSON on stdin.

import { createHash } from "node:crypto";

import type { ProcessOutput } from "../../cni/spawn";
import { failure } from "./errors";

const TABLE = { family: "bridge", table: "nat" } as const;
const BASE_CHAIN = "PREROUTING";

export interface SpoofCheckTarget {
  readonly containerId: string;
  readonly ifName: string;
}

/** nft's limits: a chain name (NFT_CHAIN_MAXNAMELEN, with the NUL) and a rule comment. */
const NFT_CHAIN_NAME_MAX = 255;
const NFT_COMMENT_MAX = 128;

const attachmentId = (t: SpoofCheckTarget): string => `${t.containerId}-${t.ifName}`;
// Room for the "-mac" suffix of the second chain.
const ifaceChain = (t: SpoofCheckTarget): string => fit(`cni-br-iface-${attachmentId(t)}`, NFT_CHAIN_NAME_MAX - 4);
const comment = (t: SpoofCheckTarget): string => fit(`macspoofchk-${attachmentId(t)}`, NFT_COMMENT_MAX);

/**
 * The reference's names as they are when they fit; longer ones (a container ID of hundreds of
 * characters, which the reference cannot install at all) are cut and end in a hash of the whole.
 */
function fit(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return `${name.slice(0, max - hash.length - 1)}-${hash}`;
}

/** Installs the rules for traffic from `hostVeth`, allowing only `mac` as source. */
export async function setupSpoofCheck(target: SpoofCheckTarget, hostVeth: string, mac: string): Promise<void> {
  const chain = ifaceChain(target);
  const macChain = `${chain}-mac`;
  const rule = (chainName: string, expr: unknown[]) => ({
    add: { rule: { ...TABLE, chain: chainName, expr, comment: comment(target) } },
  });
  const commands = [
    { add: { table: { family: TABLE.family, name: TABLE.table } } },
    {
      add: {
        chain: { ...chainId(BASE_CHAIN), type: "filter", hook: "prerouting", prio: -300, policy: "accept" },
      },
    },
    { add: { chain: chainId(chain) } },
    { add: { chain: chainId(macChain) } },
    // A retried ADD starts from empty chains.
    { flush: { chain: chainId(chain) } },
    { flush: { chain: chainId(macChain) } },
    rule(BASE_CHAIN, [match({ meta: { key: "iifname" } }, hostVeth), { jump: { target: chain } }]),
    rule(chain, [{ jump: { target: macChain } }]),
    rule(macChain, [match({ payload: { protocol: "ether", field: "saddr" } }, mac), { return: null }]),
    rule(macChain, [{ drop: null }]),
  ];
  const { exitCode, stderr } = await nft(["-j", "-f", "-"], JSON.stringify({ nftables: commands }));
  if (exitCode !== 0) throw failure("failed to setup spoof-check", stderr.trim());
}

/** Removes the attachment's rule from PREROUTING and its two chains; nothing left is success. */
export async function teardownSpoofCheck(target: SpoofCheckTarget): Promise<void> {
  let listed: ProcessOutput;
  try {
    listed = await nft(["-j", "-a", "list", "table", TABLE.family, TABLE.table]);
  } catch (error: unknown) {
    // Without nft on the node, no rule was ever made.
    if ((error as { code?: unknown }).code === "ENOENT") return;
    throw error;
  }
  if (listed.exitCode !== 0) {
    if (/No such file or directory/.test(listed.stderr)) return;
    throw failure("failed to teardown spoof-check", listed.stderr.trim());
  }
  const chain = ifaceChain(target);
  const chains = new Set([chain, `${chain}-mac`]);
  const rules: unknown[] = [];
  const chainsFound: unknown[] = [];
  for (const object of parseRuleset(listed.stdout)) {
    const rule = object["rule"];
    if (isRecord(rule) && rule["chain"] === BASE_CHAIN && rule["comment"] === comment(target)) {
      rules.push({ delete: { rule: { ...TABLE, chain: BASE_CHAIN, handle: rule["handle"] } } });
    }
    const found = object["chain"];
    if (isRecord(found) && typeof found["name"] === "string" && chains.has(found["name"])) {
      chainsFound.push({ delete: { chain: chainId(found["name"]) } });
    }
  }
  // The jump into the attachment's chain goes first: a chain something jumps to cannot be deleted.
  const deletions = [...rules, ...chainsFound];
  if (deletions.length === 0) return;
  const { exitCode, stderr } = await nft(["-j", "-f", "-"], JSON.stringify({ nftables: deletions }));
  if (exitCode !== 0) throw failure("failed to teardown spoof-check", stderr.trim());
}

function chainId(name: string): { family: string; table: string; name: string } {
  return { family: TABLE.family, table: TABLE.table, name };
}

function match(left: unknown, right: string): unknown {
  return { match: { op: "==", left, right } };
}

function parseRuleset(json: string): Record<string, unknown>[] {
  const parsed: unknown = JSON.parse(json);
  const list = isRecord(parsed) ? parsed["nftables"] : undefined;
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Runs nft (found in PATH, as the reference's go-nft does) with `input` on stdin. */
async function nft(args: readonly string[], input = ""): Promise<ProcessOutput> {
  const { runProcess } = await import("../../cni/spawn");
  return runProcess("nft", args, { stdin: input });
}

// Masquerade with iptables, in the reference bridge's layout (pkg/ip/ipmasq_iptables_linux.go):
//
//   -A POSTROUTING -s 10.22.0.5/32 -m comment --comment "name: \"net\" id: \"cid\"" -j CNI-<hash>
//   -A CNI-<hash> -d 10.22.0.0/24 -m comment --comment "..." -j ACCEPT
//   -A CNI-<hash> ! -d 224.0.0.0/4 -m comment --comment "..." -j MASQUERADE
//
// in the nat table of iptables (IPv4) and ip6tables (IPv6), one chain per (network, container).
// The ifname is not part of this layout: two interfaces of one container on one network share
// the chain, teardown removes it whole, and GC keeps it while any attachment of the container is
// valid. Unlike the reference, setup keeps every ACCEPT rule before the MASQUERADE rule (the
// reference appends a second subnet's ACCEPT after it, where it never matches), and teardown works
// from the chain name alone, so it needs no addresses and cleans up partial rule sets.

import type { IpFamily } from "../native/netlink/ip";
import { canonicalCidr, groupByFamily, type InterfaceAddress, MULTICAST } from "./addresses";
import { type IptablesPlan, readIptablesTable, updateIptablesTable } from "./iptables";
import {
  type IptablesTableState,
  optionOf,
  removeChainsScript,
  restoreScript,
  ruleLine,
  targetOf,
} from "./iptables-text";
import {
  iptablesMasqueradeComment,
  MASQUERADE_CHAIN_PATTERN,
  masqueradeChainName,
  parseIptablesMasqueradeComment,
} from "./masquerade-names";
import { cleanUpUnlessUnavailable, FirewallToolError, iptablesRestore, iptablesWorks, settleAll } from "./tools";

export interface IptablesMasqueradeUnit {
  readonly network: string;
  readonly containerId: string;
}

const FAMILIES: readonly IpFamily[] = [4, 6];

/** iptables could not read its tables: the backend is unusable here. */
export class IptablesUnavailableError extends Error {
  constructor(options: ErrorOptions) {
    super("iptables is not usable here", options);
    this.name = "IptablesUnavailableError";
  }
}

export async function setupIptablesMasquerade(
  unit: IptablesMasqueradeUnit,
  addresses: readonly InterfaceAddress[],
): Promise<void> {
  await Promise.all([...groupByFamily(addresses)].map(([family, list]) => setupFamily(family, unit, list)));
}

async function setupFamily(
  family: IpFamily,
  unit: IptablesMasqueradeUnit,
  addresses: readonly InterfaceAddress[],
): Promise<void> {
  // A new container, the common case, takes one iptables-restore: see planFreshSetup.
  try {
    return await iptablesRestore(family, planFreshSetup(unit, addresses));
  } catch (error: unknown) {
    if (!(error instanceof FirewallToolError)) throw error;
  }
  // The chain exists (a repeated ADD, a second interface), or iptables does not work at all.
  let state: IptablesTableState;
  try {
    state = await readIptablesTable(family, "nat");
  } catch (error: unknown) {
    throw new IptablesUnavailableError({ cause: error });
  }
  await updateIptablesTable(family, "nat", (current) => planSetup(current, unit, addresses), state);
}

/**
 * Creates the chain with `-N`, which fails when it exists. When it does not, no rule can jump to
 * it either (iptables refuses jumps to missing chains), so the whole rule set can be written blind.
 */
export function planFreshSetup(unit: IptablesMasqueradeUnit, addresses: readonly InterfaceAddress[]): string {
  const chain = masqueradeChainName(unit.network, unit.containerId);
  return restoreScript("nat", [], [`-N ${chain}`, ...setupLines(unit, addresses, [], new Set())]);
}

/** The restore script that installs `addresses` (one family) into the unit's chain, keeping what it already holds. */
export function planSetup(
  state: IptablesTableState,
  unit: IptablesMasqueradeUnit,
  addresses: readonly InterfaceAddress[],
): string {
  const chain = masqueradeChainName(unit.network, unit.containerId);
  const jumpSources = new Set(
    state.rules
      .filter((rule) => rule.chain === "POSTROUTING" && targetOf(rule) === chain)
      .map((rule) => sourceOf(rule.args)),
  );
  const keptSubnets = state.rules
    .filter((rule) => rule.chain === chain && targetOf(rule) === "ACCEPT")
    .map((rule) => optionOf(rule.args, "-d"))
    .filter((destination) => destination !== undefined && !destination.negated)
    .map((destination) => canonicalCidr(destination?.value ?? ""));
  // Declaring the chain creates it or empties it, so its rules are rewritten in one transaction.
  return restoreScript("nat", [chain], setupLines(unit, addresses, keptSubnets, jumpSources));
}

/** Every ACCEPT before the MASQUERADE (the reference appends a later subnet after it), then the missing jumps. */
function setupLines(
  unit: IptablesMasqueradeUnit,
  addresses: readonly InterfaceAddress[],
  keptSubnets: readonly string[],
  jumpSources: ReadonlySet<string | undefined>,
): string[] {
  const chain = masqueradeChainName(unit.network, unit.containerId);
  const comment = ["-m", "comment", "--comment", iptablesMasqueradeComment(unit.network, unit.containerId)];
  const family = addresses[0]?.family ?? 4;
  const subnets = new Set([...keptSubnets, ...addresses.map((address) => address.subnet)]);
  const newJumps = new Set(addresses.map((address) => address.host).filter((host) => !jumpSources.has(host)));
  return [
    ...[...subnets].map((subnet) => ruleLine("-A", chain, ["-d", subnet, ...comment, "-j", "ACCEPT"])),
    ruleLine("-A", chain, ["!", "-d", MULTICAST[family], ...comment, "-j", "MASQUERADE"]),
    ...[...newJumps].map((host) => ruleLine("-A", "POSTROUTING", ["-s", host, ...comment, "-j", chain])),
  ];
}

function sourceOf(args: readonly string[]): string | undefined {
  const source = optionOf(args, "-s");
  return source === undefined || source.negated ? undefined : canonicalCidr(source.value);
}

/**
 * Removes the unit's chain and every jump to it, in both families. With the addresses known, a
 * family first tries the exact rules setup wrote, in one iptables-restore; anything else (rules
 * of another version or interface, a partial set, nothing at all) is read and removed as found.
 */
export async function teardownIptablesMasquerade(
  unit: IptablesMasqueradeUnit,
  addresses: readonly InterfaceAddress[],
): Promise<void> {
  const chain = masqueradeChainName(unit.network, unit.containerId);
  const byFamily = groupByFamily(addresses);
  await cleanUpEachFamily(
    (state) => removeChainsScript("nat", state, [chain]),
    async (family) => {
      const hosts = (byFamily.get(family) ?? []).map((address) => address.host);
      if (hosts.length === 0) return false;
      try {
        await iptablesRestore(family, planKnownTeardown(unit, hosts));
        return true;
      } catch (error: unknown) {
        if (error instanceof FirewallToolError) return false;
        throw error;
      }
    },
  );
}

/** Deletes the jumps setup wrote for `hosts`, then the chain; fails unless exactly that is there. */
export function planKnownTeardown(unit: IptablesMasqueradeUnit, hosts: readonly string[]): string {
  const chain = masqueradeChainName(unit.network, unit.containerId);
  const comment = ["-m", "comment", "--comment", iptablesMasqueradeComment(unit.network, unit.containerId)];
  const jumps = [...new Set(hosts)].map((host) => ruleLine("-D", "POSTROUTING", ["-s", host, ...comment, "-j", chain]));
  return restoreScript("nat", [chain], [...jumps, `-X ${chain}`]);
}

/** Removes the chains of `network` whose container has no attachment in `validContainerIds`. */
export async function gcIptablesMasquerade(network: string, validContainerIds: ReadonlySet<string>): Promise<void> {
  await cleanUpEachFamily((state) => {
    const stale = [...masqueradeChainsOf(state, network)]
      .filter(([, containerId]) => !validContainerIds.has(containerId))
      .map(([chain]) => chain);
    return removeChainsScript("nat", state, stale);
  });
}

/**
 * Applies a clean-up plan to the nat table of each family whose iptables works here, unless
 * `shortcut` did the family's clean-up already (it answers true then).
 */
async function cleanUpEachFamily(
  plan: IptablesPlan,
  shortcut: (family: IpFamily) => Promise<boolean> = async () => false,
): Promise<void> {
  await settleAll(
    FAMILIES.map(async (family) => {
      if (await shortcut(family)) return;
      await cleanUpUnlessUnavailable(
        () => updateIptablesTable(family, "nat", plan),
        () => iptablesWorks(family),
      );
    }),
  );
}

/**
 * The masquerade chains of `network` in a nat table, with the container each belongs to. A chain is
 * recognised by a comment naming (network, container) on its rules or on a jump to it, and only
 * when its name is that pair's hash: other plugins' chains with the same comment (portmap) are
 * never matched. A chain left empty by an interrupted reference ADD carries no comment; teardown
 * finds it by name, GC cannot.
 */
export function masqueradeChainsOf(state: IptablesTableState, network: string): Map<string, string> {
  const chains = new Map<string, string>();
  for (const rule of state.rules) {
    const comment = optionOf(rule.args, "--comment");
    const owner = comment === undefined ? undefined : parseIptablesMasqueradeComment(comment.value);
    if (owner === undefined || owner.network !== network) continue;
    const chain = MASQUERADE_CHAIN_PATTERN.test(rule.chain) ? rule.chain : (targetOf(rule) ?? "");
    if (chain === masqueradeChainName(network, owner.containerId)) chains.set(chain, owner.containerId);
  }
  return chains;
}

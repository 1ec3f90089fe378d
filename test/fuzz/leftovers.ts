// State a plugin leaves on purpose, as the reference plugins do, which "nothing changed" must not
// count: everything else a case changes is a failure. Each model says which of these apply to its
// failed cases and to its successful life cycles.

import type { Leftovers, Snapshot } from "./snapshot";

/** host-local's network directory, its lock and its last-reserved markers (never the reservations). */
export const hostLocalState: Leftovers = ({ item, change }) => {
  const match = /^file (\S+) (dir|file) /.exec(item);
  if (match === null) return false;
  const name = match[1]!.slice(match[1]!.lastIndexOf("/") + 1);
  return (match[2] === "dir" && change === "added") || name === "lock" || name.startsWith("last_reserved_ip.");
};

const BUILTIN_CHAINS = "PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING";

/**
 * The links every pod of a bridge network shares, which no DEL removes (nor a failed ADD, since the
 * bridge is made while IPAM runs): bridges, `<bridge>.<vlan>` gateway interfaces and their peers.
 */
function sharedLinks(snapshots: readonly Snapshot[]): Set<string> {
  const links = snapshots
    .flatMap((snapshot) => [...snapshot])
    .filter((item) => item.startsWith("host link "))
    .map((item) => item.split(" "));
  const names = new Set<string>();
  for (const words of links) {
    const name = words[2]!;
    if (words.includes("kind=bridge") || /\.\d+$/.test(name)) names.add(name);
  }
  for (const words of links) {
    const peer = words.find((word) => word.startsWith("peer="))?.slice("peer=".length);
    if (peer !== undefined && names.has(peer) && /\.\d+$/.test(peer)) names.add(words[2]!);
  }
  return names;
}

/** Empty firewall skeletons: tables, built-in chains with their hooks, and the reference's nft masquerade table. */
function firewallSkeleton(item: string): boolean {
  const iptables = /^host ip6?tables-save \w*: (.*)$/.exec(item);
  if (iptables !== null) {
    const line = iptables[1]!;
    return (
      /^\*\w+$/.test(line) || line === "COMMIT" || new RegExp(`^:(${BUILTIN_CHAINS}) ACCEPT \\[counters\\]$`).test(line)
    );
  }
  const nft = /^host nft ([^:]*): (.*)$/.exec(item);
  if (nft === null) return false;
  const [context, line] = [nft[1]!, nft[2]!];
  // The reference's masquerade table: its base chain's fixed rules stay, per-pod rules do not.
  if (context.startsWith("inet cni_plugins_masquerade"))
    return !context.endsWith("masq_checks") || line.startsWith("comment ");
  return (
    /^table \S+ \S+ \{$/.test(line) ||
    new RegExp(`^chain (${BUILTIN_CHAINS}) \\{$`).test(line) ||
    /^type \w+ hook \w+ priority [\w-]+; policy accept;$/.test(line)
  );
}

/**
 * The bridge plugin's shared infrastructure: shared links (made, changed, or removed by the worker
 * between cases) with their addresses and routes, and firewall skeletons.
 */
export const bridgeInfrastructure: Leftovers = ({ item }, { before, after }) => {
  const shared = sharedLinks([before, after]);
  const link = /^host link (\S+) /.exec(item);
  if (link !== null) return shared.has(link[1]!);
  const device = /^host (?:address|route[46]) .*\bdev=(\S+)/.exec(item);
  if (device !== null) return shared.has(device[1]!);
  return firewallSkeleton(item);
};

export const anyOf =
  (...kinds: readonly Leftovers[]): Leftovers =>
  (difference, snapshots) =>
    kinds.some((kind) => kind(difference, snapshots));

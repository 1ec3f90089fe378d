// Masquerade with nftables, in the reference bridge's layout (pkg/ip/ipmasq_nftables_linux.go):
//
//   table inet cni_plugins_masquerade {
//     chain masq_checks {
//       ip saddr 10.22.0.5 ip daddr != 10.22.0.0/24 masquerade comment "<net hash>-<if:id hash>, net: ..., if: ..., id: ..."
//     }
//     chain postrouting {
//       type nat hook postrouting priority srcnat;
//       ip daddr 224.0.0.0/4 return
//       ip6 daddr ff00::/8 return
//       goto masq_checks
//     }
//   }
//
// One rule per address; the comment's hash prefix identifies the attachment (network, ifName,
// containerId), so teardown and GC need no addresses. Both families live in one inet table.

import type { InterfaceAddress } from "./addresses";
import { MULTICAST } from "./addresses";
import { NFT_MASQUERADE as M, nftAttachmentHash, nftMasqueradeComment, nftNetworkHash } from "./masquerade-names";
import { deleteRuleCommand, type NftRule, nftRulesOf, nftScript, nftString } from "./nft-text";
import { cleanUpUnlessUnavailable, nftablesWorks, nftApply, nftListJson, withConflictRetries } from "./tools";

export interface NftMasqueradeAttachment {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
}

const TABLE = `${M.family} ${M.table}`;

/** The rules of masq_checks now (none when the table does not exist). */
async function listCheckRules(): Promise<NftRule[]> {
  const listing = await nftListJson(["table", M.family, M.table]);
  return listing === undefined ? [] : nftRulesOf(listing).filter((rule) => rule.chain === M.checksChain);
}

export async function setupNftablesMasquerade(
  attachment: NftMasqueradeAttachment,
  addresses: readonly InterfaceAddress[],
): Promise<void> {
  await withConflictRetries(async () => nftApply(planSetup(await listCheckRules(), attachment, addresses)));
}

/** The script that (re)installs the attachment's rules, replacing any it already has. */
export function planSetup(
  existing: readonly NftRule[],
  attachment: NftMasqueradeAttachment,
  addresses: readonly InterfaceAddress[],
): string {
  const { network, ifName, containerId } = attachment;
  const comment = nftString(nftMasqueradeComment(network, ifName, containerId));
  const stale = rulesWithPrefix(existing, nftAttachmentHash(network, ifName, containerId));
  return nftScript([
    `add table ${TABLE} { comment ${nftString(M.tableComment)} ; }`,
    `add chain ${TABLE} ${M.checksChain} { comment ${nftString(M.checksChainComment)} ; }`,
    `add chain ${TABLE} ${M.postroutingChain} { type nat hook postrouting priority srcnat ; }`,
    `flush chain ${TABLE} ${M.postroutingChain}`,
    `add rule ${TABLE} ${M.postroutingChain} ip daddr ${MULTICAST[4]} return`,
    `add rule ${TABLE} ${M.postroutingChain} ip6 daddr ${MULTICAST[6]} return`,
    `add rule ${TABLE} ${M.postroutingChain} goto ${M.checksChain}`,
    ...stale.map(deleteRuleCommand),
    ...addresses.map((address) => {
      const ip = address.family === 4 ? "ip" : "ip6";
      const match = `${ip} saddr ${address.ip} ${ip} daddr != ${address.subnet}`;
      return `add rule ${TABLE} ${M.checksChain} ${match} masquerade comment ${comment}`;
    }),
  ]);
}

export async function teardownNftablesMasquerade(attachment: NftMasqueradeAttachment): Promise<void> {
  const prefix = nftAttachmentHash(attachment.network, attachment.ifName, attachment.containerId);
  await deleteMatching((rules) => rulesWithPrefix(rules, prefix));
}

/** Removes the rules of `network` whose attachment hash is not among `valid`. */
export async function gcNftablesMasquerade(
  network: string,
  valid: readonly { containerId: string; ifName: string }[],
): Promise<void> {
  const kept = new Set(valid.map((a) => nftAttachmentHash(network, a.ifName, a.containerId)));
  await deleteMatching((rules) =>
    rulesWithPrefix(rules, `${nftNetworkHash(network)}-`).filter((rule) => !kept.has(attachmentHashOf(rule))),
  );
}

/** Deletes the selected rules of masq_checks; nothing to do where nftables does not work. */
async function deleteMatching(select: (rules: readonly NftRule[]) => NftRule[]): Promise<void> {
  await cleanUpUnlessUnavailable(
    () =>
      withConflictRetries(async () => {
        const doomed = select(await listCheckRules());
        if (doomed.length > 0) await nftApply(nftScript(doomed.map(deleteRuleCommand)));
      }),
    nftablesWorks,
  );
}

const ATTACHMENT_HASH_LENGTH = nftAttachmentHash("", "", "").length;
const attachmentHashOf = (rule: NftRule): string => (rule.comment ?? "").slice(0, ATTACHMENT_HASH_LENGTH);

function rulesWithPrefix(rules: readonly NftRule[], prefix: string): NftRule[] {
  return rules.filter((rule) => rule.comment?.startsWith(prefix) === true);
}

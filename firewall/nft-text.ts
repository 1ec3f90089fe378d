// nftables text: reading `nft -j list` output and writing `nft -f` scripts. Pure functions.

import { isObject, JsonReader } from "../cni/json";

export interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment: string | undefined;
}

/** The rules in `nft -j list ...` output (metainfo, tables, chains and other objects are skipped). */
export function nftRulesOf(listing: unknown): NftRule[] {
  const items = new JsonReader(listing).array("nftables", (item) => item) ?? [];
  const rules: NftRule[] = [];
  for (const [index, item] of items.entries()) {
    if (!isObject(item) || item["rule"] === undefined) continue;
    const rule = new JsonReader(item["rule"], `nftables[${index}].rule`);
    rules.push({
      family: rule.requireString("family"),
      table: rule.requireString("table"),
      chain: rule.requireString("chain"),
      handle: rule.integer("handle", 0) ?? 0,
      comment: rule.string("comment"),
    });
  }
  return rules;
}

/** A string literal in an nft script. nft strings have no escapes, so a double quote cannot be written. */
export function nftString(text: string): string {
  if (text.includes('"') || /[\n\r]/.test(text)) throw new RangeError(`cannot quote ${JSON.stringify(text)} for nft`);
  return `"${text}"`;
}

export function deleteRuleCommand(rule: NftRule): string {
  return `delete rule ${rule.family} ${rule.table} ${rule.chain} handle ${rule.handle}`;
}

/** Commands that leave `family table` absent whether or not it exists (nft 1.0.6 has no `destroy`). */
export function deleteTableCommands(family: string, table: string): string[] {
  return [`add table ${family} ${table}`, `delete table ${family} ${table}`];
}

/** Commands that leave a chain absent whether or not it exists; the table must exist. */
export function deleteChainCommands(family: string, table: string, chain: string): string[] {
  return [
    `add chain ${family} ${table} ${chain}`,
    `flush chain ${family} ${table} ${chain}`,
    `delete chain ${family} ${table} ${chain}`,
  ];
}

export const nftScript = (commands: readonly string[]): string => `${commands.join("\n")}\n`;

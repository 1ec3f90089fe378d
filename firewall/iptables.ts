// Read-modify-write of one iptables table: read it with iptables-save, plan a restore script from
// what is there, apply the script in one iptables-restore run, and start over when a concurrent
// writer made the script stale.

import type { IpFamily } from "../native/netlink/ip";
import { EMPTY_TABLE, parseIptablesSave, type IptablesTableState } from "./iptables-text";
import { iptablesRestore, iptablesSave, type IptablesTable, withConflictRetries } from "./tools";

export async function readIptablesTable(family: IpFamily, table: IptablesTable): Promise<IptablesTableState> {
  return parseIptablesSave(await iptablesSave(family, table)).get(table) ?? EMPTY_TABLE;
}

/** A planner: the restore script that brings a table from `state` to what is wanted, or undefined if it is there. */
export type IptablesPlan = (state: IptablesTableState) => string | undefined;

/**
 * Applies `plan` to the table's current state. `initial` is a state the caller already read; it is
 * used for the first attempt only.
 */
export async function updateIptablesTable(
  family: IpFamily,
  table: IptablesTable,
  plan: IptablesPlan,
  initial?: IptablesTableState,
): Promise<void> {
  let state = initial;
  await withConflictRetries(async () => {
    const script = plan(state ?? (await readIptablesTable(family, table)));
    state = undefined;
    if (script !== undefined) await iptablesRestore(family, script);
  });
}

// The iptables-save / iptables-restore text format: parsing what iptables-save prints and writing
// restore scripts. Pure functions, no tools run here.
//
// A rule line is `-A <chain> <args...>`; arguments are separated by spaces, and an argument holding
// spaces (a comment) is double-quoted with `\"` and `\\` escapes, as iptables-save writes it and
// iptables-restore reads it.

export interface IptablesRule {
  readonly chain: string;
  /** The arguments after `-A <chain>`, unquoted. */
  readonly args: readonly string[];
}

export interface IptablesTableState {
  /** Every chain of the table, built-in and user-defined. */
  readonly chains: ReadonlySet<string>;
  /** The rules in the order iptables-save printed them. */
  readonly rules: readonly IptablesRule[];
}

export const EMPTY_TABLE: IptablesTableState = { chains: new Set(), rules: [] };

/** Parses iptables-save output into its tables (`*nat` ... `COMMIT`). */
export function parseIptablesSave(text: string): ReadonlyMap<string, IptablesTableState> {
  const tables = new Map<string, { chains: Set<string>; rules: IptablesRule[] }>();
  let current: { chains: Set<string>; rules: IptablesRule[] } | undefined;
  for (const [index, rawLine] of text.split("\n").entries()) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (why: string) => new SyntaxError(`iptables-save line ${index + 1}: ${why}: ${line}`);
    if (line.startsWith("*")) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (line === "COMMIT") {
      current = undefined;
    } else if (current === undefined) {
      throw fail("outside of a table");
    } else if (line.startsWith(":")) {
      current.chains.add(line.slice(1).split(" ")[0] ?? "");
    } else if (line.startsWith("-A ")) {
      const [, chain, ...args] = splitArgs(line);
      if (chain === undefined) throw fail("rule without a chain");
      current.rules.push({ chain, args });
    } else {
      throw fail("unexpected line");
    }
  }
  return tables;
}

/** Splits a rule line into arguments, honouring double quotes and backslash escapes. */
export function splitArgs(line: string): string[] {
  const args: string[] = [];
  let arg = "";
  let inArg = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] ?? "";
    if (char === "\\" && i + 1 < line.length) {
      arg += line[++i];
      inArg = true;
    } else if (char === '"') {
      quoted = !quoted;
      inArg = true;
    } else if (char === " " && !quoted) {
      if (inArg) args.push(arg);
      arg = "";
      inArg = false;
    } else {
      arg += char;
      inArg = true;
    }
  }
  if (quoted) throw new SyntaxError(`unterminated quote in: ${line}`);
  if (inArg) args.push(arg);
  return args;
}

/** An argument as iptables-save writes it: quoted when it holds anything but plain characters. */
export function quoteArg(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_.:/!+=@%,-]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function ruleLine(action: "-A" | "-D", chain: string, args: readonly string[]): string {
  return [action, chain, ...args].map(quoteArg).join(" ");
}

/** The value of `option` in a rule (e.g. "-j", "--comment"), and whether a "!" negates it. */
export function optionOf(args: readonly string[], option: string): { value: string; negated: boolean } | undefined {
  const index = args.indexOf(option);
  if (index === -1 || index + 1 >= args.length) return undefined;
  return { value: args[index + 1] ?? "", negated: args[index - 1] === "!" };
}

export const targetOf = (rule: IptablesRule): string | undefined => optionOf(rule.args, "-j")?.value;

/** A restore script for one table: chain declarations (which create or flush a chain), then rule lines. */
export function restoreScript(table: string, chains: readonly string[], lines: readonly string[]): string {
  return [`*${table}`, ...chains.map((chain) => `:${chain} - [0:0]`), ...lines, "COMMIT", ""].join("\n");
}

/**
 * A script removing `chains` from `table`: first every rule that jumps to one of them (wherever it
 * is), then the chains (declared first, which flushes them, so `-X` finds them empty). Undefined
 * when there is nothing to remove. Works on whatever part of a rule set exists.
 */
export function removeChainsScript(
  table: string,
  state: IptablesTableState,
  chains: readonly string[],
): string | undefined {
  const doomed = new Set(chains);
  const jumps = state.rules.filter((rule) => !doomed.has(rule.chain) && doomed.has(targetOf(rule) ?? ""));
  const present = chains.filter((chain) => state.chains.has(chain));
  if (jumps.length === 0 && present.length === 0) return undefined;
  const lines = [...jumps.map((rule) => ruleLine("-D", rule.chain, rule.args)), ...present.map((c) => `-X ${c}`)];
  return restoreScript(table, present, lines);
}

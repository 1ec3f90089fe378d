// A fuzz case and its expected outcome (the oracle), and the file format of kept cases.
//
// Oracle rules (docs/fuzzing.md has them at length):
// - Every case is ONE mutation of a valid base input (environment plus configuration) of one plugin,
//   so its outcome is the outcome of that mutation alone.
// - The code is the spec's, decided by what the mutation breaks, in the order the skeleton checks
//   (4 env, 5 stdin, 6 decoding, 7 name, 1 version, 4/3 identifiers and CNI_NETNS), then the
//   plugin's own keys (7), CNI_ARGS (4), a delegate missing from CNI_PATH (4), files (5). A case
//   expects 999 only where no spec code applies, and its model says why.
// - A mutation that keeps the input valid must succeed ("success"), and so must the rest of its
//   life cycle (CHECK, DEL, DEL), leaving nothing behind. Where a rejection and acceptance are both
//   right (a key the plugin may ignore, JSON a byte flip left parseable), the case is "either":
//   success, or an error with the codes given.
// - Verbs that do not read an input accept any value of it: host-local's DEL reads only where the
//   reservations are, so a broken range there must not stop a DEL.

import { Buffer } from "node:buffer";

export const VERBS = ["ADD", "CHECK", "DEL", "GC", "STATUS"] as const;
export type Verb = (typeof VERBS)[number];

export type Outcome =
  | { readonly kind: "error"; readonly codes: readonly number[] }
  | { readonly kind: "success" }
  | { readonly kind: "either"; readonly codes: readonly number[] }
  /** CNI_COMMAND unset: the "about" text on stderr, exit 0, nothing on stdout. */
  | { readonly kind: "about" }
  /** CNI_COMMAND=VERSION: the version JSON whatever stdin holds. */
  | { readonly kind: "version" };

export const fails = (...codes: number[]): Outcome => ({ kind: "error", codes });
export const succeeds: Outcome = { kind: "success" };
export const either = (...codes: number[]): Outcome => ({ kind: "either", codes });

/** An outcome that may depend on the verb. A plain Outcome applies to the verbs that read the input. */
export type Verdict = Outcome | ((verb: Verb) => Outcome);

export function verdictFor(verdict: Verdict, verb: Verb, readBy: readonly Verb[] = VERBS): Outcome {
  if (typeof verdict === "function") return verdict(verb);
  return readBy.includes(verb) ? verdict : succeeds;
}

/** `outcome` for the verbs that read an input; the others succeed whatever it holds. */
export const onlyFor =
  (verbs: readonly Verb[], outcome: Outcome): Verdict =>
  (verb) =>
    verbs.includes(verb) ? outcome : succeeds;

/** The class a case counts in for the figures: "error 7", "success", "either". */
export function outcomeClass(outcome: Outcome): string {
  return outcome.kind === "error" ? `error ${outcome.codes.join("|")}` : outcome.kind;
}

/**
 * Placeholders in env values and stdin, replaced by each worker with its own paths: cases stay
 * reproducible from (seed, index) whatever directory or namespace names a run gets.
 */
export const TOKENS = {
  pod: "@@POD_NETNS@@",
  host: "@@HOST_NETNS@@",
  data: "@@DATA_DIR@@",
  scratch: "@@SCRATCH@@",
  suite: "@@SUITE_DIR@@",
} as const;
export type TokenValues = Readonly<Record<keyof typeof TOKENS, string>>;

export interface FuzzCase {
  readonly seed: number;
  readonly index: number;
  readonly plugin: string;
  /** The mutation family, for the figures: env, bytes, structure, key, valid. */
  readonly family: string;
  readonly description: string;
  /** The whole environment apart from PATH; CNI_COMMAND is absent when the case unsets it. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array;
  readonly expect: Outcome;
  /** Kernel features the expected outcome assumes ("vlan_filtering"). */
  readonly requires?: readonly string[];
}

export const caseId = (fuzzCase: Pick<FuzzCase, "seed" | "index">): string => `${fuzzCase.seed}:${fuzzCase.index}`;

/** A kept case as stored in test/fuzz/regressions/*.json: the literal input, replayed as is. */
export interface KeptCase {
  readonly seed: number;
  readonly index: number;
  /** What went wrong when the case was found, and the fix (commit subject). */
  readonly found: string;
  readonly plugin: string;
  readonly family: string;
  readonly description: string;
  readonly env: Readonly<Record<string, string>>;
  /** stdin as text when it is valid UTF-8, else stdinBase64. */
  readonly stdin?: string;
  readonly stdinBase64?: string;
  readonly expect: Outcome;
  readonly requires?: readonly string[];
}

export function toKeptCase(fuzzCase: FuzzCase, found: string): KeptCase {
  const { seed, index, plugin, family, description, env, expect, requires } = fuzzCase;
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(fuzzCase.stdin);
  } catch {
    text = undefined;
  }
  const stdin = text !== undefined ? { stdin: text } : { stdinBase64: Buffer.from(fuzzCase.stdin).toString("base64") };
  return { seed, index, found, plugin, family, description, env, ...stdin, expect, ...(requires ? { requires } : {}) };
}

export function fromKeptCase(kept: KeptCase): FuzzCase {
  const stdin =
    kept.stdinBase64 !== undefined ? Buffer.from(kept.stdinBase64, "base64") : Buffer.from(kept.stdin ?? "", "utf8");
  const { seed, index, plugin, family, description, env, expect, requires } = kept;
  return {
    seed,
    index,
    plugin,
    family,
    description,
    env,
    stdin: new Uint8Array(stdin),
    expect,
    ...(requires ? { requires } : {}),
  };
}

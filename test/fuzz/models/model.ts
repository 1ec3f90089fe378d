// What the generator knows about a plugin: valid base configurations, the keys it reads with their
// types and which verbs read them, the values that break each key (and the code they must give),
// and how it uses the environment (CNI_ARGS keys, delegation through CNI_PATH, link names).

import { either, type Outcome, succeeds, type Verb, type Verdict } from "../fuzz-case";
import { Raw } from "../json-text";
import type { Prng } from "../prng";
import type { JsonKind } from "../values";
import type { Leftovers } from "../snapshot";

export type JsonPath = readonly (string | number)[];

export interface ValueCase {
  readonly label: string;
  readonly value: unknown;
  /** A plain Outcome applies to the verbs that read the key; the others succeed. */
  readonly outcome: Verdict;
  /** Kernel features the outcome assumes (the runner skips the case on a kernel without them). */
  readonly requires?: readonly Feature[];
}

/** Kernel features some cases need; the runner probes them once. */
export type Feature = "vlan_filtering";

/** One environment variable set (or unset) to a value, and what that must give. */
export interface EnvMutation {
  readonly label: string;
  readonly name: string;
  /** undefined: the variable is unset. */
  readonly value: string | undefined;
  readonly outcome: Verdict;
}

export interface KeySpec {
  /** Where the key is, e.g. ["ipam", "ranges", 0, 0, "subnet"]; mutated only where the base has its parent. */
  readonly path: JsonPath;
  readonly kind: JsonKind;
  /** The verbs that read and validate the key; the others must accept any value of it. */
  readonly readBy: readonly Verb[];
  readonly wrongType: Verdict;
  /** The key deleted or set to null; "skip" where that would point the plugin outside the test. */
  readonly absent: Verdict | "skip";
  /** Values of the right type, valid and not. */
  readonly values?: (rng: Prng) => ValueCase;
  /** Mutated only where the base has the key itself (not merely its parent). */
  readonly onlyIfPresent?: boolean;
}

export interface Base {
  readonly label: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Keys whose valid values depend on this base (its ranges, its paths). */
  readonly keys?: readonly KeySpec[];
  /** Plugin-specific environment mutations that depend on this base (CNI_ARGS IP= in its ranges). */
  readonly env?: (rng: Prng) => EnvMutation;
  /** Overrides the model's (a MAC in the config shadows CNI_ARGS MAC). */
  readonly cniArgsValue?: PluginModel["cniArgsValue"];
  /** Overrides the model's delegation (an L2 bridge network has no IPAM to find). */
  readonly delegation?: PluginModel["delegation"] | null;
  /**
   * Paths a byte-level mutation must leave as they are when the text still parses: a data dir
   * whose key a flipped byte renamed would send the plugin to the node's real default directory.
   */
  readonly protectedPaths?: readonly JsonPath[];
}

export interface PluginModel {
  readonly name: string;
  /** A valid configuration whose cniVersion allows `verb`. */
  base(rng: Prng, verb: Verb): Base;
  readonly keys: readonly KeySpec[];
  /** CNI_ARGS keys the plugin loads and the verbs that load them; undefined when it ignores CNI_ARGS. */
  readonly cniArgs?: { readonly keys: readonly string[]; readonly readBy: readonly Verb[] };
  /** The outcome of a known CNI_ARGS key's value, when it is not simply accepted. */
  readonly cniArgsValue?: (key: string, value: string) => Outcome;
  /** Verbs that look a delegate up in CNI_PATH, and the codes a failed look-up must give. */
  readonly delegation?: { readonly verbs: readonly Verb[]; readonly codes: readonly number[] };
  /** Whether ADD creates a link named CNI_IFNAME in the pod (so a name the pod has must fail). */
  readonly createsLink: boolean;
  /** A valid network name longer than a path component (host-local makes a directory of it). */
  readonly longName: Verdict;
  /** Whether the plugin names a file after CNI_CONTAINERID (flannel's saved delegate configs). */
  readonly containerIdNamesFile?: boolean;
  /** Successful cases leave shared links (a bridge) the worker removes after each, to keep cases apart. */
  readonly sharesLinks?: boolean;
  /** State the plugin leaves on purpose after a failed case and after a successful life cycle. */
  readonly leftovers?: { readonly afterFailure?: Leftovers; readonly afterSuccess?: Leftovers };
}

/** The value at `path`, or undefined. */
export function valueAt(root: unknown, path: JsonPath): unknown {
  let node: unknown = root;
  for (const step of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[step];
  }
  return node;
}

/**
 * A deep copy with `path` set to `value`; undefined removes the key (or the array element). Keys are
 * defined, not assigned, so that "__proto__" becomes an ordinary key as JSON.parse makes it.
 */
export function withValue(root: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [step, ...rest] = path as [string | number, ...JsonPath];
  if (Array.isArray(root)) {
    const copy = [...root];
    const next = withValue(copy[step as number], rest, value);
    if (next === undefined) copy.splice(step as number, 1);
    else copy[step as number] = next;
    return copy;
  }
  const copy: Record<string, unknown> = { ...(root as Record<string, unknown>) };
  const next = withValue(copy[step], rest, value);
  if (next === undefined) delete copy[step];
  else Object.defineProperty(copy, step, { value: next, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * The verdict for an integer key bounded to [min, max], from the value as written. JSON numbers
 * with a fraction or an exponent are integers to JavaScript but not to Go's decoder, so either.
 */
export function integerVerdict(value: unknown, min: number, max: number, invalidCode = 7): Outcome {
  const text = value instanceof Raw ? value.text : JSON.stringify(value);
  const parsed = typeof value === "number" ? value : Number(JSON.parse(text));
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) return { kind: "error", codes: [invalidCode] };
  return /[.eE]/.test(text) ? either(invalidCode) : succeeds;
}

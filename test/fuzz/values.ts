// Hostile values: strings (unicode, control characters, path characters, huge), numbers as JSON
// can write them (huge, -0, beyond 2^53, 1e400), values of every JSON type, garbage trees, deep
// nesting, and malformed CIDRs and addresses. Everything is drawn from a Prng, so reproducible.

import { Raw } from "./json-text";
import type { Prng } from "./prng";

const ALNUM = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
export const NAME_ALPHABET = [...ALNUM, "_", ".", "-"];

/** Characters that break naive string handling: direction marks, combining marks, astral, surrogates. */
export const UNICODE = [
  "\u202e", // right-to-left override
  "\u200f", // right-to-left mark
  "\u0301", // combining acute accent
  "e\u0301",
  "\u200d", // zero-width joiner
  "é",
  "ß",
  "名",
  "😀",
  "\ud800", // lone high surrogate
  "\udfff", // lone low surrogate
  "\ufffe",
  "\uff0f", // fullwidth solidus
  "\u2215", // division slash
  "\u00a0", // no-break space
  "\u0085", // next line
  "\u2028", // line separator
  "\u3000", // ideographic space
  "à", // its UTF-8 ends in byte 0xa0, which the kernel counts as a space
];

/** Control characters without NUL (which no environment variable can hold). */
export const CONTROL = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).concat("\u007f");

export const PATH_PIECES = ["../", "/", "\\", "%2f", "%2F", "..", "./", "..\\", "%2e%2e%2f", "//", "/etc/passwd", "~"];

/** A short string mixing every hostile class with plain characters. */
export function garbageString(rng: Prng, maxPieces = 12): string {
  const pieces = rng.int(1, maxPieces);
  let out = "";
  for (let i = 0; i < pieces; i++) {
    out += rng.weighted<() => string>([
      [4, () => rng.string(ALNUM, rng.int(1, 4))],
      [3, () => rng.pick(UNICODE)],
      [2, () => rng.pick(CONTROL)],
      [3, () => rng.pick(PATH_PIECES)],
      [1, () => rng.pick([" ", "\t", "\n", ":", ";", "=", '"', "'", "$(", "`", "*", "?", "\\u0000"])],
    ])();
  }
  return out;
}

/** A string of 300 bytes to 70 kB: past NAME_MAX, past PATH_MAX, or simply large. */
export function hugeString(rng: Prng, alphabet: readonly string[] = NAME_ALPHABET): string {
  return rng.string(alphabet, rng.pick([256, 300, 4097, 70_000]));
}

/** Numbers written as JSON allows them, beyond what JSON.stringify writes. */
export function hugeNumber(rng: Prng): unknown {
  return rng.pick<unknown>([
    1e308,
    -1e308,
    new Raw("-0"),
    new Raw("9007199254740993"), // 2^53 + 1, not a double
    new Raw("1e400"), // parses to Infinity
    new Raw("-1e400"),
    2 ** 31,
    2 ** 32,
    -1,
    0.5,
    5e-324,
    new Raw("123456789012345678901234567890"),
  ]);
}

/** Strings a sloppy parser might take for numbers. */
export const NUMBER_LIKE_STRINGS = ["NaN", "Infinity", "-Infinity", "0x10", "1_000", "1e3", "١٥٠٠", "1500", "-0", ""];

export type JsonKind = "string" | "boolean" | "integer" | "object" | "array" | "stringArray";

const BY_KIND: Readonly<Record<"string" | "number" | "boolean" | "array" | "object", (rng: Prng) => unknown>> = {
  string: (rng) => rng.pick<unknown>([...NUMBER_LIKE_STRINGS, "true", "null", "{}", "[]", garbageString(rng)]),
  number: (rng) => hugeNumber(rng),
  boolean: (rng) => rng.chance(0.5),
  array: (rng) => rng.pick<unknown>([[], [1], ["x"], [null], [[]], [{}], [true, "x", 1]]),
  object: (rng) => rng.pick<unknown>([{}, { a: 1 }, { "": "" }, { [garbageString(rng, 3)]: garbageTree(rng, 3) }]),
};

/** Which JSON types count as the right type for a key of `kind`. */
const RIGHT_TYPES: Readonly<Record<JsonKind, readonly (keyof typeof BY_KIND)[]>> = {
  string: ["string"],
  boolean: ["boolean"],
  integer: ["number"],
  object: ["object"],
  array: ["array"],
  stringArray: ["array"],
};

/**
 * A value of a JSON type other than `kind` (for a string array, also an array holding a non-string).
 * Never null: a null reads as an absent key, which for a data dir means the node's default one.
 */
export function wrongTypeValue(rng: Prng, kind: JsonKind): unknown {
  if (kind === "stringArray" && rng.chance(0.3)) return rng.pick<unknown>([[1], [null], [{}], [[]], ["x", false]]);
  const types = (Object.keys(BY_KIND) as (keyof typeof BY_KIND)[]).filter((t) => !RIGHT_TYPES[kind].includes(t));
  return BY_KIND[rng.pick(types)](rng);
}

/** A random JSON tree with hostile keys and leaves. */
export function garbageTree(rng: Prng, depth: number): unknown {
  if (depth <= 0 || rng.chance(0.3)) {
    return rng.pick<() => unknown>([
      () => garbageString(rng),
      () => hugeNumber(rng),
      () => rng.chance(0.5),
      () => null,
    ])();
  }
  const size = rng.int(0, 4);
  if (rng.chance(0.5)) return Array.from({ length: size }, () => garbageTree(rng, depth - 1));
  const tree: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) tree[garbageString(rng, 3)] = garbageTree(rng, depth - 1);
  return tree;
}

/** Arrays or objects nested `depth` deep, as raw text (no recursion needed to write it). */
export function deepNesting(rng: Prng): { depth: number; value: Raw } {
  const depth = rng.pick([64, 1000, 10_000, 100_000]);
  const value = rng.chance(0.5)
    ? new Raw(`${"[".repeat(depth)}${"]".repeat(depth)}`)
    : new Raw(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
  return { depth, value };
}

/** Strings that are not CIDRs of the family (or of any). */
export function badCidr(rng: Prng, family: 4 | 6): string {
  const v4 = [
    "10.0.0.0/33",
    "10.0.0.0/-1",
    "10.0.0.0",
    "10.0.0/24",
    "256.0.0.0/24",
    "10.0.0.0/24/24",
    "10.0.0.0/ 24",
    " 10.0.0.0/24",
    "10.0.0.0/24 ",
    "010.0.0.0/24",
    "10.0.0.0/0x18",
    "",
    "/24",
    "10.0.0.0/",
    "a.b.c.d/24",
    "10.0.0.0%eth0/24",
    "１０.0.0.0/24",
    "10.0.0.0/2\u0664",
    "10.0.0.0/1000",
    "10.0.0.0/24\u0000",
  ];
  const v6 = [
    "::/129",
    "fd00::/64%eth0",
    "fd00:::/64",
    "fd00::g/64",
    "fd00::/",
    "fd00::/-64",
    "[fd00::]/64",
    "fd00::/64/64",
  ];
  return rng.chance(0.8) ? rng.pick(family === 4 ? v4 : v6) : garbageString(rng);
}

/** Strings that are not IP addresses. */
export function badAddress(rng: Prng): string {
  return rng.chance(0.8)
    ? rng.pick([
        "10.0.0.256",
        "10.0.0",
        "::g",
        "",
        " 10.0.0.1",
        "10.0.0.1 ",
        "10.0.0.1/24",
        "010.0.0.1",
        "1.2.3.4.5",
        "fe80::1%eth0",
        "0x0a000001",
      ])
    : garbageString(rng);
}

/** A name matching the spec's rule for network names and container IDs. */
export function validName(rng: Prng, length = rng.int(1, 40)): string {
  return rng.pick(ALNUM) + rng.string(NAME_ALPHABET, length - 1);
}

/** The spec's rule for network names and container IDs (cni/pkg/utils in the reference). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A name that is probably invalid (the oracle checks it against NAME_PATTERN, not this). */
export function hostileName(rng: Prng): string {
  return rng.weighted<() => string>([
    [3, () => validName(rng, 8) + garbageString(rng, 3)],
    [2, () => rng.pick(["-", ".", "_"]) + validName(rng, 6)],
    [2, () => rng.pick(PATH_PIECES) + validName(rng, 4)],
    [2, () => garbageString(rng)],
    [1, () => rng.pick(["", ".", "..", "../..", "a/b", "a\\b", "a%2fb", "a b", "a\nb"])],
  ])();
}

// Mutations of a base configuration: of one known key (a wrong type, deleted, a bad or a valid
// value), of the JSON structure (a repeated key, unknown keys, nesting, invalid JSON syntax, sizes),
// and of the bytes (truncation, flips, inserted and deleted bytes, invalid UTF-8).

import { either, fails, succeeds, type Verb, type Verdict, verdictFor } from "./fuzz-case";
import { Entries, toJsonText } from "./json-text";
import {
  type Base,
  type Feature,
  type JsonPath,
  type KeySpec,
  type PluginModel,
  valueAt,
  withValue,
} from "./models/model";
import type { Prng } from "./prng";
import { deepNesting, garbageString, garbageTree, hugeNumber, hugeString, wrongTypeValue } from "./values";

export interface ConfigMutation {
  readonly family: "key" | "structure" | "bytes";
  readonly description: string;
  readonly stdin: Uint8Array;
  readonly verdict: Verdict;
  readonly requires?: readonly Feature[];
}

const encoder = new TextEncoder();
const STDIN_LIMIT = 1024 * 1024;
/** What a config whose parse a byte flip changed may answer: anything but 999 (and success). */
const LENIENT = (verb: Verb) => (verb === "STATUS" ? either(1, 2, 4, 5, 6, 7, 50) : either(1, 2, 4, 5, 6, 7));

const isObjectNode = (node: unknown): node is Record<string, unknown> =>
  typeof node === "object" && node !== null && !Array.isArray(node);

/** The keys of `model` and `base` that can be mutated in this base; the base's own specs win. */
function applicableKeys(model: PluginModel, base: Base): KeySpec[] {
  const own = base.keys ?? [];
  const overridden = (spec: KeySpec) => own.some((o) => pathText(o.path) === pathText(spec.path));
  return [...model.keys.filter((spec) => !overridden(spec)), ...own].filter((spec) => {
    const parent = valueAt(base.config, spec.path.slice(0, -1));
    if (typeof parent !== "object" || parent === null) return false;
    return spec.onlyIfPresent !== true || valueAt(base.config, spec.path) !== undefined;
  });
}

const pathText = (path: JsonPath): string =>
  path.map((step, i) => (typeof step === "number" ? `[${step}]` : i === 0 ? step : `.${step}`)).join("");

function serialize(rng: Prng, config: unknown): Uint8Array {
  return encoder.encode(toJsonText(config, rng.pick([0, 2, 4])));
}

/** One known key: a wrong type, deleted or null, or a value of the right type. */
export function keyMutation(rng: Prng, model: PluginModel, base: Base): ConfigMutation {
  // Keys the plugin reads are where the bugs are; the ignored ones get a share too.
  const spec = rng.weighted(applicableKeys(model, base).map((k) => [k.readBy.length === 0 ? 1 : 4, k] as const));
  const where = pathText(spec.path);
  const kinds: string[] = ["wrong type"];
  if (spec.absent !== "skip") kinds.push("absent");
  if (spec.values !== undefined) kinds.push("value", "value");
  const verdict =
    (v: Verdict): Verdict =>
    (verb) =>
      verdictFor(v, verb, spec.readBy);
  switch (rng.pick(kinds)) {
    case "absent": {
      // null reads as absent for an object's key; an array element is removed.
      const asNull = typeof spec.path.at(-1) === "string" && rng.chance(0.3);
      const config = withValue(base.config, spec.path, asNull ? null : undefined);
      return {
        family: "key",
        description: `${where} ${asNull ? "null" : "deleted"}`,
        stdin: serialize(rng, config),
        verdict: verdict(spec.absent as Verdict),
      };
    }
    case "value": {
      const valueCase = spec.values!(rng);
      const config = withValue(base.config, spec.path, valueCase.value);
      return {
        family: "key",
        description: `${where}: ${valueCase.label}`,
        stdin: serialize(rng, config),
        verdict: verdict(valueCase.outcome),
        ...(valueCase.requires !== undefined ? { requires: valueCase.requires } : {}),
      };
    }
    default: {
      const wrong = wrongTypeValue(rng, spec.kind);
      const config = withValue(base.config, spec.path, wrong);
      return {
        family: "key",
        description: `${where} of the wrong type`,
        stdin: serialize(rng, config),
        verdict: verdict(spec.wrongType),
      };
    }
  }
}

/** Every object node of the base, by path. */
function objectPaths(node: unknown, path: JsonPath = []): JsonPath[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => objectPaths(item, [...path, i]));
  if (!isObjectNode(node)) return [];
  return [path, ...Object.entries(node).flatMap(([key, value]) => objectPaths(value, [...path, key]))];
}

/** A key the plugins do not know: hostile names, prototype names, case variants of known keys. */
function unknownKeyName(rng: Prng): { name: string; caseVariant: boolean } {
  const variant = rng.pick(["Name", "CNIVERSION", "IPAM", "dataDIR", "Type", "Ranges", "Subnet"]);
  return rng.weighted<() => { name: string; caseVariant: boolean }>([
    [4, () => ({ name: garbageString(rng, 4), caseVariant: false })],
    [
      2,
      () => ({
        name: rng.pick(["__proto__", "constructor", "toString", "hasOwnProperty", "", "prototype"]),
        caseVariant: false,
      }),
    ],
    [1, () => ({ name: hugeString(rng), caseVariant: false })],
    [2, () => ({ name: variant, caseVariant: true })],
  ])();
}

export function structureMutation(rng: Prng, model: PluginModel, base: Base): ConfigMutation {
  return rng.weighted<() => ConfigMutation>([
    [3, () => repeatedKey(rng, model, base)],
    [3, () => unknownKey(rng, base)],
    [3, () => syntax(rng, base)],
  ])();
}

/** A known key twice: JSON's last value wins, in JSON.parse as in Go's decoder. */
function repeatedKey(rng: Prng, model: PluginModel, base: Base): ConfigMutation {
  const specs = applicableKeys(model, base).filter(
    (spec) => typeof spec.path.at(-1) === "string" && valueAt(base.config, spec.path) !== undefined,
  );
  const spec = rng.pick(specs);
  const parentPath = spec.path.slice(0, -1);
  const name = String(spec.path.at(-1));
  const parent = valueAt(base.config, parentPath) as Record<string, unknown>;
  const original = parent[name];
  const wrong = wrongTypeValue(rng, spec.kind);
  const [label, first, last, verdict] = rng.pick<[string, unknown, unknown, Verdict]>([
    ["twice, same value", original, original, succeeds],
    ["twice, the wrong type first", wrong, original, succeeds],
    ["twice, the wrong type last", original, wrong, (verb: Verb) => verdictFor(spec.wrongType, verb, spec.readBy)],
  ]);
  const entries = Object.entries(parent).flatMap(([key, value]): [string, unknown][] =>
    key === name
      ? [
          [key, first],
          [key, last],
        ]
      : [[key, value]],
  );
  const config = withValue(base.config, parentPath, new Entries(entries));
  return {
    family: "structure",
    description: `${pathText(spec.path)} ${label}`,
    stdin: serialize(rng, config),
    verdict,
  };
}

function unknownKey(rng: Prng, base: Base): ConfigMutation {
  const at = rng.pick(objectPaths(base.config));
  const { name, caseVariant } = unknownKeyName(rng);
  const deep = rng.chance(0.2) ? deepNesting(rng) : undefined;
  const value =
    deep?.value ?? rng.pick<() => unknown>([() => garbageTree(rng, 4), () => hugeString(rng), () => hugeNumber(rng)])();
  const config = withValue(base.config, [...at, name], value);
  // Go's decoder matches keys case-insensitively, so a case variant may be read there. Nesting
  // beyond Go's limit is the generator's decoding rule (generator.ts).
  const verdict: Verdict = caseVariant ? either(1, 6, 7) : succeeds;
  const where = at.length === 0 ? "top level" : pathText(at);
  const what = deep !== undefined ? `nested ${deep.depth} deep` : "garbage";
  return {
    family: "structure",
    description: `unknown key ${JSON.stringify(name.slice(0, 24))} at ${where}, ${what}`,
    stdin: serialize(rng, config),
    verdict,
  };
}

/** Text that is not JSON, or JSON that is not an object, or sizes around the stdin cap. */
function syntax(rng: Prng, base: Base): ConfigMutation {
  const text = toJsonText(base.config, 2);
  const [label, out, verdict] = rng.pick<() => [string, string, Verdict]>([
    () => ["a byte order mark first", `\ufeff${text}`, either(6)],
    () => ["trailing garbage", text + rng.pick([" x", "}", ",", "{}", text, "\u0000", "\ud800"]), fails(6)],
    () => ["whitespace around and CRLF inside", `\r\n\t ${text.replaceAll("\n", "\r\n")}  \n\n`, succeeds],
    () => ["a comment", rng.pick([`// config\n${text}`, `${text.slice(0, 1)}/* c */${text.slice(1)}`]), fails(6)],
    () => ["a trailing comma", `${text.slice(0, text.lastIndexOf("}"))},}`, fails(6)],
    () => ["single quotes", text.replaceAll('"', "'"), fails(6)],
    () => [
      `a literal that JSON lacks`,
      `${text.slice(0, -1)}, "x": ${rng.pick(["NaN", "Infinity", "undefined", "0x10", "01", "+1", ".5", "1.", "'a'", "True"])}}`,
      fails(6),
    ],
    () => ["not an object", rng.pick(["", "null", "[]", "true", "1", '"x"', `[${text}]`, " "]), fails(6)],
    () => [
      "keys written with escapes",
      text.replace('"name"', '"\\u006eame"').replace('"cniVersion"', '"cni\\u0056ersion"'),
      succeeds,
    ],
    () => ["an invalid escape", text.replace('"name": "', '"name": "\\x41'), fails(6)],
    () => [
      "a raw control character in a string",
      text.replace('"name": "', `"name": "${rng.pick(["\t", "\n", "\u0001", "\u001f"])}`),
      fails(6),
    ],
    () => [
      "padded to just under the stdin cap",
      // Placeholders grow when a worker's paths replace them: a margin of 8 KiB.
      text + " ".repeat(STDIN_LIMIT - encoder.encode(text).length - 8192),
      succeeds,
    ],
    () => ["larger than the stdin cap", text + " ".repeat(STDIN_LIMIT + rng.int(1, 4096)), fails(5)],
  ])();
  return { family: "structure", description: label, stdin: encoder.encode(out), verdict };
}

const INVALID_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0xfe],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
];

/** Truncation, byte flips, insertions and deletions; the verdict comes from whether JSON survives. */
export function byteMutation(rng: Prng, base: Base): ConfigMutation {
  const original = encoder.encode(toJsonText(base.config, rng.pick([0, 2])));
  for (let attempt = 0; attempt < 20; attempt++) {
    const [label, bytes] = mutateBytes(rng, original);
    const verdict = byteVerdict(bytes, base);
    if (verdict !== undefined) return { family: "bytes", description: label, stdin: bytes, verdict };
  }
  return {
    family: "bytes",
    description: "truncated to half",
    stdin: original.slice(0, original.length >> 1),
    verdict: fails(6),
  };
}

function mutateBytes(rng: Prng, original: Uint8Array): [string, Uint8Array] {
  const bytes = [...original];
  const at = () => rng.int(0, bytes.length - 1);
  const ops: string[] = [];
  for (let i = rng.int(1, 3); i > 0; i--) {
    const op = rng.pick(["truncate", "flip", "bit", "insert", "delete", "utf8"]);
    ops.push(op);
    switch (op) {
      case "truncate":
        bytes.length = rng.chance(0.5) ? at() : Math.max(0, bytes.length - rng.int(1, 8));
        break;
      case "flip":
        bytes[at()] = rng.int(0, 255);
        break;
      case "bit": {
        const i = at();
        bytes[i] = (bytes[i] ?? 0) ^ (1 << rng.int(0, 7));
        break;
      }
      case "insert":
        bytes.splice(at(), 0, rng.int(0, 255));
        break;
      case "delete":
        bytes.splice(at(), 1);
        break;
      case "utf8":
        bytes.splice(at(), 0, ...rng.pick(INVALID_UTF8));
        break;
    }
  }
  return [`bytes: ${ops.join(", ")}`, Uint8Array.from(bytes)];
}

/**
 * Invalid UTF-8 or JSON, or not an object: code 6. Still the same object: success. Changed but
 * parseable: lenient. Undefined when the change reached a protected path (try another mutation).
 */
function byteVerdict(bytes: Uint8Array, base: Base): Verdict | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return fails(6);
  }
  if (!isObjectNode(parsed)) return fails(6);
  const protectedPaths = base.protectedPaths ?? [];
  if (protectedPaths.some((path) => valueAt(parsed, path) !== valueAt(base.config, path))) return undefined;
  return JSON.stringify(parsed) === JSON.stringify(base.config) ? succeeds : LENIENT;
}

// The fuzz case generator: case `index` of run `seed` is one mutation of a valid input of one plugin,
// with the outcome the spec requires (fuzz-case.ts has the oracle rules). Pure: no I/O, no clock,
// the same case for the same (seed, index, plugins) on every machine.

import {
  fails,
  type FuzzCase,
  type Outcome,
  outcomeClass,
  succeeds,
  TOKENS,
  type Verb,
  type Verdict,
  verdictFor,
} from "./fuzz-case";
import { envMutation } from "./models/env";
import { bridge } from "./models/bridge";
import { flannel } from "./models/flannel";
import { hostLocal } from "./models/host-local";
import { loopback } from "./models/loopback";
import type { Base, Feature, PluginModel } from "./models/model";
import { byteMutation, keyMutation, structureMutation } from "./mutate-config";
import { Prng } from "./prng";
import { toJsonText } from "./json-text";
import { NAME_ALPHABET } from "./values";

/** Every plugin the generator knows; a run uses those the binary under test provides. */
export const MODELS: readonly PluginModel[] = [loopback, hostLocal, bridge, flannel];

const VERB_WEIGHTS: readonly (readonly [number, Verb])[] = [
  [5, "ADD"],
  [2, "DEL"],
  [1, "CHECK"],
  [1, "GC"],
  [1, "STATUS"],
];

interface Mutation {
  readonly family: string;
  readonly description: string;
  readonly stdin: Uint8Array;
  /** Variables to set, or to unset (undefined). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly verdict: Verdict;
  readonly requires?: readonly Feature[];
}

/** The models of `plugins` (names the binary provides), in a fixed order. */
export function modelsFor(plugins: readonly string[]): PluginModel[] {
  return MODELS.filter((model) => plugins.includes(model.name));
}

export function generateCase(seed: number, index: number, models: readonly PluginModel[]): FuzzCase {
  const rng = Prng.forCase(seed, index);
  const model = rng.pick(models);
  const drawnVerb = rng.weighted(VERB_WEIGHTS);
  const base = model.base(rng, drawnVerb);
  const drawn = mutate(rng, model, base);
  const mutation = goRefuses(drawn.stdin) ? { ...drawn, verdict: fails(6) } : drawn;

  // A CHECK that should pass needs an ADD before it: the runner's life cycle (ADD, CHECK, DEL,
  // DEL) covers it, so such a case becomes an ADD.
  let verb = drawnVerb;
  let expect = resolve(mutation, verb);
  if (verb === "CHECK" && (expect.kind === "success" || expect.kind === "either")) {
    verb = "ADD";
    expect = resolve(mutation, verb);
  }

  const env: Record<string, string> = { CNI_COMMAND: verb, ...baseEnv(rng, verb, index) };
  for (const [name, value] of Object.entries(mutation.env)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return {
    seed,
    index,
    plugin: model.name,
    family: mutation.family,
    description: `${verb} ${base.label}: ${mutation.description}`,
    env,
    stdin: mutation.stdin,
    expect,
    ...(mutation.requires !== undefined && expect.kind !== "error" ? { requires: mutation.requires } : {}),
  };
}

/**
 * Whether Go's decoder refuses JSON that JSON.parse takes: nested beyond 10000 levels, or a number
 * beyond a 64-bit float (1e400). Such a config is a decoding failure (6) wherever it is.
 */
export function goRefuses(stdin: Uint8Array): boolean {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(stdin));
  } catch {
    return false;
  }
  const stack: [unknown, number][] = [[json, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node === "number" && !Number.isFinite(node)) return true;
    if (typeof node !== "object" || node === null) continue;
    if (depth > 10_000) return true;
    stack.push(...Object.values(node).map((child): [unknown, number] => [child, depth + 1]));
  }
  return false;
}

function resolve(mutation: Mutation, verb: Verb): Outcome {
  return verdictFor(mutation.verdict, verb);
}

/** The environment a runtime gives: the attachment's variables for ADD, CHECK and DEL. */
function baseEnv(rng: Prng, verb: Verb, index: number): Record<string, string> {
  const env: Record<string, string> = { CNI_PATH: TOKENS.suite };
  if (verb === "GC" || verb === "STATUS") return env;
  return {
    ...env,
    CNI_CONTAINERID: `fz-${index}-${rng.string(NAME_ALPHABET, 6)}`,
    CNI_NETNS: TOKENS.pod,
    CNI_IFNAME: rng.pick(["eth0", "net1", "eth0.100", "e"]),
  };
}

function mutate(rng: Prng, model: PluginModel, base: Base): Mutation {
  const unchanged = (): Uint8Array => new TextEncoder().encode(toJsonText(base.config, rng.pick([0, 2])));
  return rng.weighted<() => Mutation>([
    [
      25,
      () => {
        const change = base.env !== undefined && rng.chance(0.3) ? base.env(rng) : envMutation(rng, model, base);
        return {
          family: "env",
          description: `${change.label} (${JSON.stringify(change.value?.slice(0, 40))})`,
          stdin: unchanged(),
          env: { [change.name]: change.value },
          verdict: change.outcome,
        };
      },
    ],
    [40, () => ({ ...keyMutation(rng, model, base), env: {} })],
    [15, () => ({ ...structureMutation(rng, model, base), env: {} })],
    [15, () => ({ ...byteMutation(rng, base), env: {} })],
    [5, () => ({ family: "valid", description: "unchanged", stdin: unchanged(), env: {}, verdict: succeeds })],
  ])();
}

/** A one-line summary of a case, for failure reports. */
export function describeCase(fuzzCase: FuzzCase): string {
  return `case ${fuzzCase.seed}:${fuzzCase.index} ${fuzzCase.plugin} ${fuzzCase.description} → ${outcomeClass(fuzzCase.expect)}`;
}

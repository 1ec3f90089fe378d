// CNI_ARGS as the reference's types.LoadArgs reads it, and the mutations of it: the plugin's model
// says which keys it knows, which verbs read the variable and what a known key's value gives.

import { fails, onlyFor, type Outcome, succeeds } from "../fuzz-case";
import type { Prng } from "../prng";
import { garbageString } from "../values";
import type { Base, EnvMutation, PluginModel } from "./model";

/**
 * types.LoadArgs: "K=V;K=V", each pair exactly one "="; unknown keys are an error unless
 * IgnoreUnknown is 1/true (any case); IgnoreUnknown itself must be a boolean.
 */
export function cniArgsOutcome(text: string, model: PluginModel, base?: Base): Outcome {
  const valueOutcome = base?.cniArgsValue ?? model.cniArgsValue;
  if (text === "") return succeeds;
  const pairs = text.split(";").map((pair) => pair.split("="));
  if (pairs.some((parts) => parts.length !== 2)) return fails(4);
  const values = new Map(pairs as [string, string][]);
  const ignore = values.get("IgnoreUnknown");
  if (ignore !== undefined && !["1", "true", "0", "false"].includes(ignore.toLowerCase())) return fails(4);
  const known = model.cniArgs?.keys ?? [];
  const unknown = [...values.keys()].filter((key) => key !== "IgnoreUnknown" && !known.includes(key));
  if (unknown.length > 0 && !["1", "true"].includes((ignore ?? "").toLowerCase())) return fails(4);
  for (const key of known) {
    const value = values.get(key);
    if (value !== undefined && value !== "" && valueOutcome !== undefined) {
      const outcome = valueOutcome(key, value);
      if (outcome.kind !== "success") return outcome;
    }
  }
  return succeeds;
}

export function cniArgsMutation(rng: Prng, model: PluginModel, base: Base): EnvMutation {
  const known = model.cniArgs?.keys ?? [];
  const value = rng.pick<() => string>([
    () => "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-1;K8S_POD_INFRA_CONTAINER_ID=abc",
    () => "K8S_POD_NAMESPACE=default",
    () =>
      rng.pick([
        "a",
        "=",
        "a=b=c",
        ";",
        "K=V;",
        ";K=V",
        "IgnoreUnknown=maybe",
        "IgnoreUnknown=TRUE;x=y",
        "IgnoreUnknown=0;x=y",
        "==",
        "IgnoreUnknown",
      ]),
    () => garbageString(rng),
    () => `IgnoreUnknown=1;${garbageString(rng)}`,
    () => (known.length > 0 ? `${rng.pick(known)}=${garbageString(rng, 4)}` : `X=${garbageString(rng, 4)}`),
  ])();
  const outcome =
    model.cniArgs === undefined ? succeeds : onlyFor(model.cniArgs.readBy, cniArgsOutcome(value, model, base));
  return { label: "CNI_ARGS", name: "CNI_ARGS", value, outcome };
}

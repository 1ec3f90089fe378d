// What both entry points share (the mocha sample in make test, and make fuzz): the plugins of the
// binary under test, the generated cases, the kept regression cases, and the figures of a run.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { caseId, type FuzzCase, fromKeptCase, type KeptCase, toKeptCase } from "./fuzz-case";
import { generateCase, MODELS, modelsFor } from "./generator";
import { runOk } from "../helpers/run";
import { BUILT_BINARY } from "../helpers/suite";

export const REGRESSIONS_DIR = resolve(import.meta.dirname, "regressions");

/** The plugins the built binary provides. */
export function builtPlugins(): string[] {
  return runOk(BUILT_BINARY, ["plugins"])
    .split("\n")
    .filter((name) => name !== "");
}

/** Cases start..start+count-1 of `seed`, over the plugins the binary provides and the generator knows. */
export function generateCases(seed: number, start: number, count: number, plugins = builtPlugins()): FuzzCase[] {
  const models = modelsFor(plugins);
  if (models.length === 0) throw new Error(`no fuzz model for any of the plugins ${plugins.join(", ")}`);
  return Array.from({ length: count }, (_, i) => generateCase(seed, start + i, models));
}

/** Plugins of the binary the generator has no model for (reported, so that none is forgotten). */
export function pluginsWithoutModel(plugins = builtPlugins()): string[] {
  return plugins.filter((name) => !MODELS.some((model) => model.name === name));
}

/** The kept cases whose plugin the binary provides. */
export function regressionCases(plugins = builtPlugins()): FuzzCase[] {
  return readdirSync(REGRESSIONS_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => fromKeptCase(JSON.parse(readFileSync(join(REGRESSIONS_DIR, name), "utf8")) as KeptCase))
    .filter((fuzzCase) => plugins.includes(fuzzCase.plugin));
}

/**
 * Writes a case to the regressions directory, named by plugin, seed and index (the same seed and
 * index give another case with another list of plugins, so the plugin is part of the name).
 */
export function keepCase(fuzzCase: FuzzCase, found: string): string {
  const path = join(REGRESSIONS_DIR, `${fuzzCase.plugin}-${caseId(fuzzCase).replace(":", "-")}.json`);
  writeFileSync(path, `${JSON.stringify(toKeptCase(fuzzCase, found), null, 2)}\n`, { flag: "wx" });
  return path;
}

// The keys every plugin's configuration has, read by the skeleton (cni/command.ts) before the
// plugin sees anything: cniVersion, name, type, prevResult, logLevel, logFile, capabilities and
// GC's list of valid attachments.

import { fails, type Outcome, succeeds, type Verb, VERBS, either, TOKENS } from "../fuzz-case";
import { Raw } from "../json-text";
import type { Prng } from "../prng";
import { garbageString, garbageTree, hostileName, hugeString, NAME_PATTERN, validName, badCidr } from "../values";
import type { KeySpec, PluginModel, ValueCase } from "./model";

export const SPEC_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

const MINIMUM_VERSION: Readonly<Record<Verb, string>> = {
  ADD: "0.1.0",
  DEL: "0.1.0",
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

const atLeast = (version: string, minimum: string): boolean =>
  SPEC_VERSIONS.indexOf(version as never) >= SPEC_VERSIONS.indexOf(minimum as never);

/** A version for a base configuration of `verb`: any the verb allows. */
export function baseVersion(rng: Prng, verb: Verb): string {
  return rng.pick(SPEC_VERSIONS.filter((v) => atLeast(v, MINIMUM_VERSION[verb])));
}

/** The skeleton's version rules: supported exactly, and new enough for the verb ("" means 0.1.0). */
export function versionOutcome(version: string | undefined, verb: Verb): Outcome {
  const effective = version === undefined || version === "" ? "0.1.0" : version;
  if (!(SPEC_VERSIONS as readonly string[]).includes(effective)) return fails(1);
  return atLeast(effective, MINIMUM_VERSION[verb]) ? succeeds : fails(1);
}

const UNSUPPORTED_VERSIONS = [
  "9.9.9",
  "1.0",
  "v1.0.0",
  "1.0.0 ",
  " 1.0.0",
  "1.0.0-rc1",
  "01.0.0",
  "0.4",
  "1.1.0\n",
  "1.0.٠",
];

export const cniVersionKey: KeySpec = {
  path: ["cniVersion"],
  kind: "string",
  readBy: VERBS,
  wrongType: fails(6),
  absent: (verb) => versionOutcome(undefined, verb),
  values: (rng) => {
    const value = rng.weighted<() => string>([
      [3, () => rng.pick(SPEC_VERSIONS)],
      [3, () => rng.pick(UNSUPPORTED_VERSIONS)],
      [1, () => ""],
      [1, () => garbageString(rng)],
      [1, () => hugeString(rng, ["1", ".", "0"])],
    ])();
    return { label: "cniVersion", value, outcome: (verb) => versionOutcome(value, verb) };
  },
};

export function nameKey(model: Pick<PluginModel, "longName">): KeySpec {
  return {
    path: ["name"],
    kind: "string",
    readBy: VERBS,
    wrongType: fails(6),
    absent: fails(7),
    values: (rng) => {
      const value = rng.weighted<() => string>([
        [4, () => hostileName(rng)],
        [1, () => validName(rng)],
        [1, () => validName(rng, rng.pick([256, 300, 5000]))],
      ])();
      if (!NAME_PATTERN.test(value)) return { label: "name (invalid)", value, outcome: fails(7) };
      const long = new TextEncoder().encode(value).length > 255;
      return {
        label: long ? "name (longer than a path component)" : "name (valid)",
        value,
        outcome: long ? model.longName : succeeds,
      };
    },
  };
}

/** The plugin does not check `type` (the binary's name chose the plugin), like the reference. */
const type: KeySpec = {
  path: ["type"],
  kind: "string",
  readBy: VERBS,
  wrongType: fails(6),
  absent: succeeds,
  values: (rng) => ({
    label: "type",
    value: rng.pick(["bridge", "", "../loopback", garbageString(rng)]),
    outcome: succeeds,
  }),
};

const logLevel: KeySpec = {
  path: ["logLevel"],
  kind: "string",
  readBy: VERBS,
  wrongType: fails(7),
  absent: succeeds,
  values: (rng) => {
    const value = rng.pick(["loud", "DEBUG", "Warn", " warn", "", "debug", "error", garbageString(rng)]);
    const outcome = ["debug", "error"].includes(value)
      ? succeeds
      : value === "" || value.toLowerCase().trim() === "warn" || value === "DEBUG"
        ? either(7)
        : fails(7);
    return { label: "logLevel", value, outcome };
  },
};

/** Only values that write nothing: a directory (the plugin falls back to stderr) or nothing. */
const logFile: KeySpec = {
  path: ["logFile"],
  kind: "string",
  readBy: VERBS,
  wrongType: fails(7),
  absent: succeeds,
  values: (rng) => ({ label: "logFile", value: rng.pick(["", `${TOKENS.scratch}/dir`]), outcome: succeeds }),
};

const capabilities: KeySpec = {
  path: ["capabilities"],
  kind: "object",
  readBy: [],
  wrongType: succeeds,
  absent: succeeds,
  values: (rng) => ({ label: "capabilities", value: garbageTree(rng, 3), outcome: succeeds }),
};

/** Results that no version's decoder accepts. */
function malformedResult(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => ({ cniVersion: "1.0.0", ips: "10.0.0.2/24" }),
    () => ({ cniVersion: "1.0.0", ips: [{ address: badCidr(rng, 4) || "x" }] }),
    () => ({ cniVersion: "1.0.0", ips: [{}] }),
    () => ({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.300" }] }),
    () => ({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24", interface: rng.pick([0.5, "0", true]) }] }),
    () => ({ cniVersion: "1.0.0", interfaces: [{}] }),
    () => ({ cniVersion: "1.0.0", interfaces: [{ name: 5 }] }),
    () => ({ cniVersion: "1.0.0", interfaces: [{ name: "eth0", mtu: -1 }] }),
    () => ({ cniVersion: "1.0.0", routes: [{ dst: "default" }] }),
    () => ({ cniVersion: "1.0.0", routes: [{}] }),
    () => ({ cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0", scope: 256 }] }),
    () => ({
      cniVersion: "1.1.0",
      routes: [{ dst: "0.0.0.0/0", table: rng.pick<unknown>([-1, 0.5, "5", new Raw("1e400")]) }],
    }),
    () => ({ cniVersion: "1.0.0", dns: [] }),
    () => ({ cniVersion: "1.0.0", dns: { nameservers: "8.8.8.8" } }),
    () => ({ cniVersion: "9.9.9" }),
    () => ({ cniVersion: 1 }),
    () => ({ cniVersion: "0.2.0", ip4: { ip: "10.0.0.2" } }),
    () => ({ cniVersion: "0.2.0", ip4: "10.0.0.2/24" }),
  ])();
}

/**
 * The skeleton decodes prevResult for ADD, CHECK and DEL (code 6). For DEL, which must not fail
 * forever over a cache entry, ignoring a malformed prevResult is acceptable too.
 */
const prevResult: KeySpec = {
  path: ["prevResult"],
  kind: "object",
  readBy: ["ADD", "CHECK", "DEL"],
  wrongType: (verb) => (verb === "DEL" ? either(6) : verb === "GC" || verb === "STATUS" ? succeeds : fails(6)),
  absent: succeeds,
  values: (rng) => {
    const value = malformedResult(rng);
    return {
      label: "prevResult (malformed)",
      value,
      outcome: (verb: Verb) => (verb === "DEL" ? either(6) : verb === "GC" || verb === "STATUS" ? succeeds : fails(6)),
    };
  },
};

/** GC's list; read only by GC, whichever plugin (the skeleton decodes it). */
const validAttachments: KeySpec = {
  path: ["cni.dev/valid-attachments"],
  kind: "array",
  readBy: ["GC"],
  wrongType: fails(7),
  absent: succeeds,
  values: (rng): ValueCase =>
    rng.pick<() => ValueCase>([
      () => ({ label: "attachment without ifname", value: [{ containerID: "c1" }], outcome: fails(7) }),
      () => ({
        label: "attachment of the wrong shape",
        value: [rng.pick<unknown>(["c1", 5, [], { containerID: 5, ifname: "eth0" }])],
        outcome: fails(7),
      }),
      () => ({
        label: "hostile attachments",
        value: [{ containerID: garbageString(rng), ifname: garbageString(rng) }],
        outcome: succeeds,
      }),
      () => ({
        label: "many attachments",
        value: Array.from({ length: 2000 }, (_, i) => ({ containerID: `c${i}`, ifname: "eth0" })),
        outcome: succeeds,
      }),
    ])(),
};

export function commonKeys(model: Pick<PluginModel, "longName">): KeySpec[] {
  return [cniVersionKey, nameKey(model), type, logLevel, logFile, capabilities, prevResult, validAttachments];
}

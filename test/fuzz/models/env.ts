// Mutations of the environment a runtime hands a plugin: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
// CNI_IFNAME, CNI_ARGS, CNI_PATH, and the suite's TSCNI_LOG_LEVEL. Each gives the outcome of the
// spec's rules (cni/pkg/skel and cni/pkg/types/args.go in the reference), not of our code.

import { either, fails, type Outcome, succeeds, TOKENS, type Verb, onlyFor } from "../fuzz-case";
import type { Prng } from "../prng";
import {
  CONTROL,
  garbageString,
  hostileName,
  NAME_ALPHABET,
  NAME_PATTERN,
  PATH_PIECES,
  UNICODE,
  validName,
} from "../values";
import { cniArgsMutation } from "./cni-args";
import type { Base, EnvMutation, PluginModel } from "./model";

const ATTACHMENT_VERBS: readonly Verb[] = ["ADD", "CHECK", "DEL"];
const NETNS_VERBS: readonly Verb[] = ["ADD", "CHECK"];

export function envMutation(rng: Prng, model: PluginModel, base: Base): EnvMutation {
  return rng.weighted<() => EnvMutation>([
    [1, () => command(rng)],
    [2, () => containerId(rng, model)],
    [3, () => ifName(rng, model)],
    [3, () => netns(rng)],
    [2, () => cniArgsMutation(rng, model, base)],
    [1, () => cniPath(rng, base.delegation === null ? undefined : (base.delegation ?? model.delegation))],
    [1, () => logLevel(rng)],
    [
      1,
      () => ({
        label: "an unrelated variable",
        name: rng.pick(["CNI_FOO", "cni_command", "HOME"]),
        value: garbageString(rng),
        outcome: succeeds,
      }),
    ],
  ])();
}

function command(rng: Prng): EnvMutation {
  const value = rng.weighted<() => string | undefined>([
    [
      4,
      () =>
        rng.pick([
          "add",
          "Add",
          "ADD ",
          " ADD",
          "DELETE",
          "VERSION\n",
          "constructor",
          "__proto__",
          "toString",
          "ADD;DEL",
        ]),
    ],
    [2, () => garbageString(rng)],
    [1, () => undefined],
    [1, () => ""],
    [1, () => "VERSION"],
  ])();
  if (value === undefined || value === "")
    return { label: "CNI_COMMAND unset or empty", name: "CNI_COMMAND", value, outcome: { kind: "about" } };
  if (value === "VERSION")
    return { label: "CNI_COMMAND=VERSION", name: "CNI_COMMAND", value, outcome: { kind: "version" } };
  return { label: "CNI_COMMAND unknown", name: "CNI_COMMAND", value, outcome: fails(4) };
}

/** Required by ADD, CHECK and DEL; must match the spec's name rule. */
function containerId(rng: Prng, model: PluginModel): EnvMutation {
  const value = rng.weighted<() => string | undefined>([
    [1, () => undefined],
    [1, () => ""],
    [5, () => hostileName(rng)],
    [1, () => validName(rng, rng.pick([64, 4096, 100_000]))],
  ])();
  const name = "CNI_CONTAINERID";
  if (value === undefined || value === "")
    return { label: `${name} missing`, name, value, outcome: onlyFor(ATTACHMENT_VERBS, fails(4)) };
  const valid = NAME_PATTERN.test(value);
  if (valid && value.length > 255 && model.containerIdNamesFile === true) {
    // Too long to be a file name: ADD cannot save it (and says so), DEL finds nothing saved.
    return {
      label: `${name} too long for a file name`,
      name,
      value,
      outcome: (verb) => (verb === "ADD" ? fails(4, 5) : succeeds),
    };
  }
  return {
    label: `${name} ${valid ? "valid" : "invalid"}`,
    name,
    value,
    outcome: onlyFor(ATTACHMENT_VERBS, valid ? succeeds : fails(4)),
  };
}

/** Go's unicode.IsSpace is the Unicode White_Space property; JavaScript's \s adds U+FEFF. */
const GO_SPACE = /\p{White_Space}/u;
/**
 * The reference's ifname rule, and the kernel's beyond it, for every plugin (an interface name
 * must be one the kernel takes): its isspace() reads single bytes as Latin-1, so UTF-8 byte 0xa0
 * ("à" is c3 a0) is a space, and "%" makes a name a template. U+FEFF is whitespace to JavaScript
 * but not to Go or the kernel: either way.
 */
export function ifNameOutcome(name: string): Outcome {
  const bytes = new TextEncoder().encode(name);
  if (name === "" || bytes.length > 15 || name === "." || name === ".." || /[/:%]/.test(name) || GO_SPACE.test(name)) {
    return fails(4);
  }
  if (bytes.includes(0xa0)) return fails(4);
  if (name.includes("\ufeff")) return either(4);
  return succeeds;
}

function ifName(rng: Prng, model: PluginModel): EnvMutation {
  const value = rng.weighted<() => string | undefined>([
    [1, () => undefined],
    [1, () => ""],
    [
      2,
      () =>
        rng.pick([
          ".",
          "..",
          "eth0:1",
          "eth 0",
          "eth0\t",
          "a/b",
          "../eth0",
          "\\eth0",
          "%2feth0",
          "eth0%2f",
          "ethé",
          "eth\u00a0",
          "eth\u0085",
          "eth\ufeff",
          "lo",
          "eth0123456789abc",
          "eth0123456789ab",
        ]),
    ],
    [3, () => "e" + garbageString(rng, 3)],
    [1, () => rng.string([...NAME_ALPHABET, ...UNICODE, ...CONTROL, ...PATH_PIECES], rng.int(1, 20))],
  ])();
  const name = "CNI_IFNAME";
  if (value === undefined || value === "")
    return { label: `${name} missing`, name, value, outcome: onlyFor(ATTACHMENT_VERBS, fails(4)) };
  if (model.createsLink && value === "lo") {
    // Valid, but the pod has it: ADD must fail, with no code the spec names (CHECK goes the life cycle's way).
    return {
      label: `${name} names the pod's lo`,
      name,
      value,
      outcome: (verb) => (verb === "ADD" ? fails(4, 999) : succeeds),
    };
  }
  const outcome = ifNameOutcome(value);
  return {
    label: `${name} ${outcome.kind === "success" ? "valid" : "invalid"}`,
    name,
    value,
    outcome: onlyFor(ATTACHMENT_VERBS, outcome),
  };
}

/**
 * ADD and CHECK need a network namespace that is not the plugin's own: a relative path, something
 * else, or the own namespace is code 4, a path that does not exist code 3. DEL succeeds whatever
 * the path is: the namespace may be gone already.
 */
function netns(rng: Prng): EnvMutation {
  const [label, value, outcome] = rng.pick<() => [string, string | undefined, Outcome]>([
    () => ["CNI_NETNS missing", undefined, fails(4)],
    () => ["CNI_NETNS empty", "", fails(4)],
    () => ["CNI_NETNS relative", rng.pick(["run/netns/x", "netns", ".", "..", `.${TOKENS.pod}`]), fails(4)],
    () => [
      "CNI_NETNS does not exist",
      rng.pick([`${TOKENS.pod}-missing`, "/nonexistent/netns", `${TOKENS.pod}%2f`, "/run/netns/\u202e"]),
      fails(3),
    ],
    () => [
      "CNI_NETNS through a regular file",
      rng.pick([`${TOKENS.pod}/`, "/etc/hostname/x", `${TOKENS.scratch}/file/x`]),
      fails(3, 4),
    ],
    () => [
      "CNI_NETNS is not a namespace",
      rng.pick([
        "/etc/hostname",
        "/dev/null",
        "/",
        `${TOKENS.scratch}/dir`,
        `${TOKENS.scratch}/file`,
        "/proc/self/fd/0",
      ]),
      fails(4),
    ],
    () => [
      "CNI_NETNS is a namespace of another type",
      rng.pick([
        "/proc/self/ns/mnt",
        "/proc/self/ns/uts",
        "/proc/self/ns/pid",
        "/proc/self/ns/user",
        "/proc/self/ns/ipc",
      ]),
      fails(4),
    ],
    () => [
      "CNI_NETNS is the plugin's own",
      rng.pick([TOKENS.host, "/proc/self/ns/net", "/proc/thread-self/ns/net"]),
      fails(4),
    ],
    () => [
      "CNI_NETNS by another path to the pod",
      rng.pick([`/${TOKENS.pod}`, `/proc/self/root${TOKENS.pod}`, `${TOKENS.scratch}/pod-link`]),
      succeeds,
    ],
    () => ["CNI_NETNS a symlink loop", rng.pick([`${TOKENS.scratch}/loop`, `${TOKENS.scratch}/loop/x`]), fails(3, 4)],
    () => [
      "CNI_NETNS too long",
      rng.pick([`/${"a".repeat(300)}`, `/run/netns/${"a".repeat(5000)}`, `/${"a/".repeat(3000)}`]),
      fails(3, 4),
    ],
    () => ["CNI_NETNS hostile", `/run/netns/${garbageString(rng)}`, fails(3, 4)],
  ])();
  return { label, name: "CNI_NETNS", value, outcome: onlyFor(NETNS_VERBS, outcome) };
}

/** Required for every verb (as the reference's skel); only a plugin that delegates looks inside. */
function cniPath(rng: Prng, delegation: PluginModel["delegation"]): EnvMutation {
  const value = rng.pick<string | undefined>([
    undefined,
    "",
    "::::",
    "relative/dir",
    "/nonexistent",
    `${TOKENS.scratch}/file`,
    `/${"a".repeat(5000)}`,
    garbageString(rng),
  ]);
  const name = "CNI_PATH";
  if (value === undefined || value === "") return { label: `${name} missing`, name, value, outcome: fails(4) };
  const outcome = delegation === undefined ? succeeds : onlyFor(delegation.verbs, fails(...delegation.codes));
  return { label: `${name} without the plugins`, name, value, outcome };
}

function logLevel(rng: Prng): EnvMutation {
  const value = rng.pick(["loud", "", "DEBUG", "debug", garbageString(rng)]);
  const outcome = value === "debug" ? succeeds : value === "" || value === "DEBUG" ? either(7) : fails(7);
  return { label: "TSCNI_LOG_LEVEL", name: "TSCNI_LOG_LEVEL", value, outcome };
}

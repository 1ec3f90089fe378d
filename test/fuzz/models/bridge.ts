// bridge: its own keys, which every verb parses (ADD, CHECK, DEL, GC and STATUS read the whole
// config), the host-local `ipam` it delegates to (models/ipam-keys.ts: read by host-local's verbs
// through the delegation), CNI_ARGS MAC (ADD), and the kernel's rules for the names of the links it
// creates (CNI_IFNAME in the pod, `bridge` on the host). A config that is valid but conflicts with
// the node (`bridge` naming a link that is no bridge, CNI_IFNAME naming one the pod has) has no
// spec code: 999 is accepted there.

import { either, fails, type Outcome, succeeds, TOKENS, type Verb, type Verdict, VERBS } from "../fuzz-case";
import { anyOf, bridgeInfrastructure, hostLocalState } from "../leftovers";
import type { Prng } from "../prng";
import { garbageString, hugeNumber } from "../values";
import { baseVersion, commonKeys, nameKey } from "./common";
import { ifNameOutcome } from "./env";
import {
  dataDir,
  hostLocalLongName,
  type IpamVariant,
  key,
  legacyIpam,
  needsMultiSet,
  PARSED_BY,
  rangesIpam,
  value,
} from "./ipam-keys";
import {
  type Base,
  type EnvMutation,
  type Feature,
  integerVerdict,
  type KeySpec,
  type PluginModel,
  type ValueCase,
} from "./model";

const VLAN: readonly Feature[] = ["vlan_filtering"];
/** A configuration error of the bridge's own keys: every verb parses them. */
export const invalid = fails(7);

/** An outcome of ADD alone (the other verbs succeed), for what only making the links can find. */
const addOnly =
  (outcome: Outcome): Verdict =>
  (verb) =>
    verb === "ADD" ? outcome : succeeds;

/** `bridge` (a link name on the host): the kernel's rules; "lo" exists and is no bridge. */
export function bridgeName(rng: Prng): ValueCase {
  const name = rng.pick([
    "fzbr9",
    "cni0",
    "br-é",
    "fzbr0123456789a",
    "",
    "fzbr0123456789ab",
    "a/b",
    "a:b",
    "a b",
    ".",
    "..",
    "brà",
    "lo",
    garbageString(rng, 3),
  ]);
  // Only ADD makes the bridge (DEL, GC, STATUS never look at the link).
  if (name === "lo") return value("bridge names a link that is no bridge", name, addOnly(fails(7, 999)));
  const outcome = ifNameOutcome(name);
  return value(
    `bridge ${outcome.kind === "success" ? "valid" : "invalid"}`,
    name,
    outcome.kind === "success" ? succeeds : invalid,
  );
}

export function mtu(rng: Prng, dualStack: boolean): ValueCase {
  const [v, outcome] = rng.pick<() => [unknown, Verdict]>([
    () => [rng.pick([0, 1280, 1500, 9000, 65535]), succeeds],
    // IPv6 needs 1280: below it the kernel takes IPv6 off the link (which ADD finds with IPAM's result).
    () => [68, dualStack ? addOnly(fails(7)) : succeeds],
    () => [rng.pick([1, 67, 65536, -1]), invalid],
    () => {
      const number = hugeNumber(rng);
      return [number, integerVerdict(number, 0, 65535)];
    },
  ])();
  return value(`mtu ${JSON.stringify(v)}`, v, outcome);
}

export function vlan(rng: Prng): ValueCase {
  const v = rng.pick<unknown>([1, 100, 4094, 4095, -1, 0, hugeNumber(rng)]);
  const outcome = integerVerdict(v, 0, 4094);
  const needsFilter = outcome.kind !== "error" && v !== 0;
  return { label: `vlan ${JSON.stringify(v)}`, value: v, outcome, ...(needsFilter ? { requires: VLAN } : {}) };
}

function vlanTrunk(rng: Prng): ValueCase {
  const [label, v, outcome] = rng.pick<() => [string, unknown, Outcome]>([
    () => ["vlanTrunk ids", [{ id: 5 }, { minID: 10, maxID: 20 }], succeeds],
    () => ["vlanTrunk everything", [{ minID: 1, maxID: 4094 }], succeeds],
    () => ["vlanTrunk minID after maxID", [{ minID: 20, maxID: 10 }], invalid],
    () => ["vlanTrunk minID alone", [{ minID: 5 }], invalid],
    () => ["vlanTrunk maxID alone", [{ maxID: 5 }], invalid],
    () => ["vlanTrunk id out of range", [{ id: rng.pick([0, 4095, -3]) }], invalid],
    () => ["vlanTrunk entry of the wrong type", [rng.pick<unknown>([5, "5", [], { id: "5" }, { id: 1.5 }])], invalid],
  ])();
  return { label, value: v, outcome, ...(outcome.kind === "success" ? { requires: VLAN } : {}) };
}

function mac(rng: Prng): ValueCase {
  const v = rng.pick([
    "0a:58:0a:01:00:09",
    "0A:58:0A:01:00:09",
    "",
    "01:00:5e:00:00:01",
    "ff:ff:ff:ff:ff:ff",
    "0a:58:0a:01:00",
    "0a-58-0a-01-00-09",
    "zz:58:0a:01:00:09",
    garbageString(rng, 3),
  ]);
  const valid =
    v === "" || (/^([0-9a-f]{2})(:[0-9a-f]{2}){5}$/i.test(v) && (Number.parseInt(v.slice(0, 2), 16) & 1) === 0);
  return value(`mac ${valid ? "valid" : "invalid"}`, v, valid ? succeeds : invalid);
}

const dns = (rng: Prng): ValueCase =>
  rng.pick<() => ValueCase>([
    () => value("dns", { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"], options: ["ndots:5"] }, succeeds),
    () =>
      value("dns with garbage strings", { nameservers: [garbageString(rng)], domain: garbageString(rng) }, succeeds),
    () =>
      value(
        "dns of the wrong shape",
        rng.pick<unknown>([{ nameservers: "10.96.0.10" }, { domain: 5 }, { options: [1] }]),
        invalid,
      ),
  ])();

/** The bridge's booleans; `conflict` says which values the base cannot take with it. */
function flag(name: string, conflict: (v: boolean) => boolean = () => false): KeySpec {
  return key([name], "boolean", VERBS, (rng) => {
    const v = rng.chance(0.5);
    return value(`${name} ${v}`, v, conflict(v) ? invalid : succeeds);
  });
}

/** The keys whose valid values depend on the base's other keys. */
function ownKeys(config: Record<string, unknown>, dualStack: boolean): KeySpec[] {
  const layer3 = typeof (config["ipam"] as Record<string, unknown>)["type"] === "string";
  return [
    key(["bridge"], "string", VERBS, bridgeName),
    flag("hairpinMode", (v) => v && config["promiscMode"] === true),
    flag("promiscMode", (v) => v && config["hairpinMode"] === true),
    flag("disableContainerInterface", (v) => v && layer3),
    key(["mtu"], "integer", VERBS, (rng) => mtu(rng, dualStack)),
  ];
}

/** The IPAM plugin to delegate to: missing from CNI_PATH is code 4, a name that is no file name 7. */
const ipamType = key(["ipam", "type"], "string", VERBS, (rng) => {
  const [v, outcome] = rng.pick<() => [string, Outcome]>([
    () => ["", succeeds],
    () => ["host-local", succeeds],
    () => [rng.pick(["nonexistent-ipam", "dhcp", "host-local "]), fails(4)],
    () => [rng.pick(["../host-local", "/usr/lib/cni/host-local", "a/b"]), invalid],
  ])();
  return value(`ipam.type ${JSON.stringify(v)}`, v, outcome);
});

/** With runtimeConfig.mac set, args.cni.mac is never read: rejecting a bad one is as right as ignoring it. */
const shadowedArgs: readonly KeySpec[] = [
  { ...key(["args"], "object", VERBS), wrongType: either(7) },
  { ...key(["args", "cni"], "object", VERBS), wrongType: either(7) },
  {
    ...key(["args", "cni", "mac"], "string", VERBS, (rng) => {
      const valueCase = mac(rng);
      return { ...valueCase, outcome: valueCase.outcome === succeeds ? succeeds : either(7) };
    }),
    wrongType: either(7),
  },
];

/** A second IPv4 range set gives a second IPv4 gateway, which the bridge refuses next to the first. */
const secondIpv4Set = (version: string): KeySpec =>
  key(["ipam", "ranges", 1], "array", PARSED_BY, () =>
    value("a second IPv4 set", [{ subnet: "10.9.0.0/24" }], (verb) =>
      verb === "ADD" ? fails(7, 999) : needsMultiSet(version)(verb),
    ),
  );

/** IP= is host-local's: the bridge itself knows MAC only, so IP= without IgnoreUnknown is code 4. */
function ipFromCniArgs(mutation: EnvMutation): EnvMutation {
  if (mutation.value?.includes("IgnoreUnknown=1") === true) return mutation;
  return { ...mutation, outcome: (verb) => (verb === "ADD" ? fails(4) : succeeds) };
}

/** CNI_ARGS: MAC must be a unicast MAC (code 4); IP= is host-local's, which an L2 network ignores. */
export function cniArgsValue(name: string, v: string): Outcome {
  if (name === "IP") return either(4);
  return /^([0-9a-f]{2})(:[0-9a-f]{2}){5}$/i.test(v) && (Number.parseInt(v.slice(0, 2), 16) & 1) === 0
    ? succeeds
    : fails(4);
}

/** An error that may not happen, because another input overrides the one at fault. */
export const shadowed = (outcome: Outcome): Outcome => (outcome.kind === "error" ? either(...outcome.codes) : outcome);

/**
 * host-local's valid subnets, as a bridge gateway: one of ::/0 overlaps the bridge's own fe80::
 * address, which the bridge refuses (as the reference) with no spec code.
 */
function onBridge(spec: KeySpec): KeySpec {
  if (spec.path.join("/") !== "ipam/subnet" || spec.values === undefined) return spec;
  const values = spec.values;
  return {
    ...spec,
    values: (rng) => {
      const valueCase = values(rng);
      return valueCase.value === "::/0" ? { ...valueCase, outcome: addOnly(fails(7, 999)) } : valueCase;
    },
  };
}

/** An L3 base: `bridge` and its keys, and a host-local `ipam` variant. */
function layer3(
  config: Record<string, unknown>,
  label: string,
  variant: IpamVariant,
  dualStack: boolean,
  overrides: readonly KeySpec[] = [],
): Base {
  config["ipam"] = { type: "host-local", dataDir: TOKENS.data, ...variant.ipam };
  const keys = [...variant.keys.map(onBridge), ...ownKeys(config, dualStack), dataDir, ipamType];
  const overridden = (spec: KeySpec) => overrides.some((o) => o.path.join("/") === spec.path.join("/"));
  return {
    label: `bridge ${label} (${variant.label})`,
    config,
    keys: [...keys.filter((spec) => !overridden(spec)), ...overrides],
    protectedPaths: [["ipam", "dataDir"]],
    ...(variant.env ? { env: (rng: Prng) => ipFromCniArgs(variant.env!(rng)) } : {}),
  };
}

function base(rng: Prng, verb: Verb): Base {
  const config: Record<string, unknown> = { cniVersion: baseVersion(rng, verb), name: "fz-br", type: "bridge" };
  if (verb === "GC") config["cni.dev/valid-attachments"] = [{ containerID: "fz-other", ifname: "eth0" }];
  return rng.pick<() => Base>([
    () =>
      layer3(
        Object.assign(config, { bridge: "fzbr0", isGateway: true, ipMasq: true }),
        "gateway, iptables masquerade",
        legacyIpam(),
        false,
      ),
    () =>
      layer3(
        Object.assign(config, { bridge: "fzbr1", isDefaultGateway: true, hairpinMode: true, mtu: 1400 }),
        "default gateway, hairpin",
        rangesIpam(String(config["cniVersion"])),
        true,
        [secondIpv4Set(String(config["cniVersion"]))],
      ),
    () => ({
      ...layer3(
        Object.assign(config, {
          bridge: "fzbr2",
          isGateway: true,
          ipMasq: true,
          ipMasqBackend: "nftables",
          macspoofchk: true,
          runtimeConfig: { mac: "0a:58:0a:01:00:09" },
        }),
        "spoof check, nftables masquerade",
        legacyIpam(),
        false,
        shadowedArgs,
      ),
      // CNI_ARGS MAC is read only when the config gives none: a bad one may be refused or ignored.
      cniArgsValue: (name: string, v: string) =>
        name === "MAC" ? shadowed(cniArgsValue(name, v)) : cniArgsValue(name, v),
    }),
    () => {
      Object.assign(config, { bridge: "fzbr3", promiscMode: true, ipam: {} });
      // No IPAM: nothing to find in CNI_PATH, no data dir, any network name.
      return {
        label: "bridge layer 2",
        config,
        keys: [...ownKeys(config, false), nameKey({ longName: succeeds })],
        delegation: null,
      };
    },
  ])();
}

export const bridge: PluginModel = {
  name: "bridge",
  base,
  keys: [
    ...commonKeys({ longName: hostLocalLongName }),
    flag("isGateway"),
    flag("isDefaultGateway"),
    flag("forceAddress"),
    flag("ipMasq"),
    flag("preserveDefaultVlan"),
    flag("macspoofchk"),
    flag("enabledad"),
    flag("portIsolation"),
    key(["ipMasqBackend"], "string", VERBS, (rng) => {
      const v = rng.pick(["iptables", "nftables", "", "IPTABLES", "nft", garbageString(rng, 2)]);
      return value(
        `ipMasqBackend ${JSON.stringify(v)}`,
        v,
        ["iptables", "nftables"].includes(v) ? succeeds : v === "" ? either(7) : invalid,
      );
    }),
    key(["vlan"], "integer", VERBS, vlan),
    key(["vlanTrunk"], "array", VERBS, vlanTrunk),
    key(["dns"], "object", VERBS, dns),
    key(["runtimeConfig"], "object", VERBS),
    key(["runtimeConfig", "mac"], "string", VERBS, mac),
    key(["args"], "object", VERBS),
    key(["args", "cni"], "object", VERBS),
    key(["args", "cni", "mac"], "string", VERBS, mac),
    key(["ipam"], "object", VERBS, () => value("ipam empty (layer 2)", {}, succeeds)),
  ],
  cniArgs: { keys: ["MAC", "IP"], readBy: ["ADD"] },
  // IP= is host-local's (the delegate reads the same CNI_ARGS); an L2 network ignores it.
  cniArgsValue,

  delegation: { verbs: VERBS, codes: [4] },
  createsLink: true,
  longName: hostLocalLongName,
  sharesLinks: true,
  leftovers: {
    afterFailure: anyOf(bridgeInfrastructure, hostLocalState),
    afterSuccess: anyOf(bridgeInfrastructure, hostLocalState),
  },
};

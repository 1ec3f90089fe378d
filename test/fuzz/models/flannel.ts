// flannel: its own keys (subnetFile, dataDir, delegate, ipam, runtimeConfig), which every verb
// parses; the node's lease in subnet.env (the worker's fixtures: whole, dual-stack, corrupt,
// partial); and the bridge it delegates to. Which verb reaches what:
//   ADD      reads subnet.env, saves the delegate config under dataDir, delegates (bridge, host-local)
//   DEL      replays the saved config (none: nothing to do), so it reads no delegate key
//   CHECK    replays the saved config, which only an ADD makes: a CHECK case goes the life cycle's way
//   GC       reads subnet.env and delegates with the config ADD would build
//   STATUS   reads subnet.env (a problem is code 50) and delegates likewise
// The data dirs (flannel's, and host-local's through `ipam.dataDir`) and subnetFile are the
// worker's: mutations never drop them, byte flips that change them are discarded.

import { either, fails, type Outcome, succeeds, TOKENS, type Verb, verdictFor, VERBS } from "../fuzz-case";
import { anyOf, bridgeInfrastructure, hostLocalState } from "../leftovers";
import type { Prng } from "../prng";
import { badCidr, garbageString } from "../values";
import { bridgeName, cniArgsValue, invalid, mtu, vlan } from "./bridge";
import { baseVersion, commonKeys } from "./common";
import { hostLocalLongName, key, value } from "./ipam-keys";
import type { Base, KeySpec, PluginModel, ValueCase } from "./model";

/** The verbs that build the delegate config (and so parse `delegate` and `ipam` deeply, and read subnet.env). */
const BUILDERS: readonly Verb[] = ["ADD", "GC", "STATUS"];

/** An outcome for the verbs that build the delegate config; DEL replays, CHECK goes the life cycle's way. */
const whenBuilt =
  (outcome: Outcome) =>
  (verb: Verb): Outcome =>
    BUILDERS.includes(verb) ? outcome : succeeds;

/**
 * subnet.env missing: ADD is code 11 (the daemon has not written it yet), STATUS 50, GC 11. A file
 * that cannot be read is an I/O failure (5); a corrupt or partial one has no spec code (999), as
 * upstream.
 */
function subnetFile(rng: Prng): ValueCase {
  const [label, v, problem] = rng.pick<() => [string, string, "missing" | "unreadable" | "corrupt" | undefined]>([
    () => ["subnet.env missing", `${TOKENS.scratch}/nonexistent.env`, "missing"],
    () => ["subnet.env a directory", `${TOKENS.scratch}/dir`, "unreadable"],
    () => ["subnet.env through a symlink loop", `${TOKENS.scratch}/loop`, "unreadable"],
    () => ["subnet.env corrupt", `${TOKENS.scratch}/subnet-corrupt.env`, "corrupt"],
    () => ["subnet.env without MTU and IPMASQ", `${TOKENS.scratch}/subnet-partial.env`, "corrupt"],
    () => ["subnet.env dual-stack", `${TOKENS.scratch}/subnet6.env`, undefined],
  ])();
  const outcome = (verb: Verb): Outcome => {
    if (problem === undefined || !BUILDERS.includes(verb)) return succeeds;
    if (verb === "STATUS") return fails(50);
    return problem === "missing" ? fails(11) : problem === "unreadable" ? fails(5) : fails(999);
  };
  return value(label, v, outcome);
}

/** Where each container's delegate config is saved: a file there is an I/O failure for ADD. */
function dataDir(rng: Prng): ValueCase {
  const broken = (verb: Verb): Outcome =>
    verb === "ADD" ? fails(5) : verb === "DEL" || verb === "GC" ? either(5) : succeeds;
  return rng.pick<() => ValueCase>([
    () => value("dataDir a regular file", `${TOKENS.scratch}/file`, broken),
    () => value("dataDir too long", `${TOKENS.scratch}/${"d".repeat(300)}`, broken),
    () => value("dataDir not yet there", `${TOKENS.scratch}/dir/flannel-${rng.int(0, 9)}`, succeeds),
    () => value("dataDir relative (to the working directory)", "relative-flannel", succeeds),
  ])();
}

/** The `delegate` object: flannel's own rules for it (type, name, ipam), then the bridge's keys. */
function delegate(rng: Prng): ValueCase {
  return rng.pick<() => ValueCase>([
    () => value("delegate with a type that is no string", { type: 5 }, whenBuilt(invalid)),
    () => value("delegate naming the network", { name: "x" }, whenBuilt(invalid)),
    () => value("delegate with an ipam", { ipam: { type: "host-local" } }, whenBuilt(invalid)),
    () => value("delegate of a type not in CNI_PATH", { type: "no-such-plugin" }, whenBuilt(fails(4))),
    () => value("delegate of a type that is no file name", { type: "../bridge" }, whenBuilt(invalid)),
    () =>
      value("delegate with hairpin and promiscuous mode", { hairpinMode: true, promiscMode: true }, whenBuilt(invalid)),
    () => value("delegate empty (bridge cni0)", {}, succeeds),
  ])();
}

/** A bridge key inside `delegate`, judged by the bridge when a verb builds the delegate config. */
function delegateKey(name: string, kind: KeySpec["kind"], values: (rng: Prng) => ValueCase): KeySpec {
  return {
    ...key(["delegate", name], kind, VERBS, (rng) => {
      const valueCase = values(rng);
      const outcome = valueCase.outcome;
      return {
        ...valueCase,
        outcome: (verb: Verb) => (typeof outcome === "function" ? outcome(verb) : whenBuilt(outcome)(verb)),
      };
    }),
    wrongType: whenBuilt(invalid),
  };
}

/** A network name too long for host-local's directory; CHECK goes the life cycle's way. */
const longName = (verb: Verb): Outcome => (verb === "CHECK" ? succeeds : verdictFor(hostLocalLongName, verb));

/** ipam.routes, which flannel itself parses (for every verb that builds the delegate config). */
const ipamRoutes = key(["ipam", "routes"], "array", VERBS, (rng) =>
  rng.pick<() => ValueCase>([
    () => value("ipam.routes dst not a CIDR", [{ dst: badCidr(rng, 4) || "x" }], whenBuilt(invalid)),
    () => value("ipam.routes gw not an address", [{ dst: "10.0.0.0/8", gw: "10.0.0.300" }], whenBuilt(invalid)),
    () => value("ipam.routes without dst", [{ gw: "10.30.1.1" }], whenBuilt(invalid)),
    () => value("ipam.routes", [{ dst: "192.168.0.0/16" }], succeeds),
  ])(),
);

function base(rng: Prng, verb: Verb): Base {
  const config: Record<string, unknown> = {
    cniVersion: baseVersion(rng, verb),
    name: "fz-fl",
    type: "flannel",
    dataDir: `${TOKENS.data}/flannel`,
    ipam: { dataDir: `${TOKENS.data}/networks` },
  };
  if (verb === "GC") config["cni.dev/valid-attachments"] = [{ containerID: "fz-other", ifname: "eth0" }];
  const [label, extra] = rng.pick<[string, Record<string, unknown>]>([
    [
      "kube-flannel",
      {
        subnetFile: `${TOKENS.scratch}/subnet.env`,
        delegate: { bridge: "fzfl0", hairpinMode: true, isDefaultGateway: true },
      },
    ],
    [
      "dual stack, routes",
      {
        subnetFile: `${TOKENS.scratch}/subnet6.env`,
        delegate: { bridge: "fzfl1" },
        ipam: { dataDir: `${TOKENS.data}/networks`, routes: [{ dst: "192.168.0.0/16" }] },
      },
    ],
  ]);
  Object.assign(config, extra);
  const dualStack = label !== "kube-flannel";
  return {
    label: `flannel ${label}`,
    config,
    keys: [delegateKey("mtu", "integer", (rng) => mtu(rng, dualStack))],
    protectedPaths: [["dataDir"], ["subnetFile"], ["ipam", "dataDir"]],
  };
}

export const flannel: PluginModel = {
  name: "flannel",
  base,
  keys: [
    ...commonKeys({ longName }),
    key(["subnetFile"], "string", VERBS, subnetFile, "skip"),
    key(["dataDir"], "string", VERBS, dataDir, "skip"),
    key(["delegate"], "object", VERBS, delegate),
    key(["runtimeConfig"], "object", VERBS),
    { ...key(["ipam"], "object", VERBS), absent: "skip" },
    {
      ...key(["ipam", "type"], "string", VERBS, (rng) => {
        const v = rng.pick(["host-local", "no-such-ipam", "../host-local"]);
        const outcome = v === "host-local" ? succeeds : whenBuilt(v === "no-such-ipam" ? fails(4) : invalid);
        return value(`ipam.type ${JSON.stringify(v)}`, v, outcome);
      }),
      wrongType: whenBuilt(invalid),
    },
    { ...ipamRoutes, wrongType: whenBuilt(invalid) },
    delegateKey("bridge", "string", bridgeName),
    delegateKey("vlan", "integer", vlan),
    delegateKey("ipMasq", "boolean", (rng) => value("ipMasq", rng.chance(0.5), succeeds)),
    delegateKey("isDefaultGateway", "boolean", (rng) => value("isDefaultGateway", rng.chance(0.5), succeeds)),
    delegateKey("ipMasqBackend", "string", (rng) => {
      const v = rng.pick(["iptables", "nftables", "pf", garbageString(rng, 2)]);
      return value(`ipMasqBackend ${JSON.stringify(v)}`, v, ["iptables", "nftables"].includes(v) ? succeeds : invalid);
    }),
  ],
  // The delegate (bridge, then host-local) reads CNI_ARGS, for ADD.
  cniArgs: { keys: ["MAC", "IP"], readBy: ["ADD"] },
  cniArgsValue,
  delegation: { verbs: BUILDERS, codes: [4] },
  createsLink: true,
  longName,
  sharesLinks: true,
  containerIdNamesFile: true,
  leftovers: {
    afterFailure: anyOf(bridgeInfrastructure, hostLocalState),
    afterSuccess: anyOf(bridgeInfrastructure, hostLocalState),
  },
};

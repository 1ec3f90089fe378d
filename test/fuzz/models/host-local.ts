// host-local: the `ipam` object (models/ipam-keys.ts), the `ipRanges` and `ips` capabilities,
// `args.cni.ips` and CNI_ARGS IP=. Requested addresses are read by ADD alone.

import { isIP } from "node:net";

import { either, fails, type Outcome, succeeds, TOKENS, type Verb, type Verdict } from "../fuzz-case";
import { hostLocalState } from "../leftovers";
import type { Prng } from "../prng";
import { baseVersion, cniVersionKey, commonKeys, versionOutcome } from "./common";
import {
  ALL,
  dataDir,
  hostLocalLongName,
  type IpamVariant,
  key,
  legacyIpam,
  PARSED_BY,
  rangeSetsKey,
  rangesIpam,
  requestedKey,
  value,
} from "./ipam-keys";
import type { Base, KeySpec, PluginModel, ValueCase } from "./model";

/** The `ipam` object: required by every verb; `withoutRanges` is what one that has only its data dir gives. */
const ipamKey = (withoutRanges: Verdict): KeySpec =>
  key(
    ["ipam"],
    "object",
    ALL,
    () => value("ipam without ranges", { type: "host-local", dataDir: TOKENS.data }, withoutRanges),
    fails(7),
  );

/** cniVersion with two IPv4 range sets: results before 0.3.0 hold one address per family. */
function multiSetVersionOutcome(version: string | undefined, verb: Verb): Outcome {
  const outcome = versionOutcome(version, verb);
  const old = version === undefined || ["", "0.1.0", "0.2.0"].includes(version);
  return outcome.kind === "success" && old && PARSED_BY.includes(verb) ? fails(7) : outcome;
}

const multiSetVersion: KeySpec = {
  ...cniVersionKey,
  absent: (verb) => multiSetVersionOutcome(undefined, verb),
  values: (rng) => {
    const valueCase = cniVersionKey.values!(rng);
    return { ...valueCase, outcome: (verb: Verb) => multiSetVersionOutcome(String(valueCase.value), verb) };
  },
};

function capabilitiesBase(config: Record<string, unknown>): Base {
  if (["0.1.0", "0.2.0"].includes(String(config["cniVersion"]))) config["cniVersion"] = "0.3.1";
  Object.assign(config["ipam"] as Record<string, unknown>, {
    ranges: [[{ subnet: "10.3.0.0/16" }]],
    resolvConf: `${TOKENS.scratch}/resolv.conf`,
  });
  Object.assign(config, {
    runtimeConfig: { ipRanges: [[{ subnet: "10.4.0.0/24" }]] },
    args: { cni: { ips: ["10.3.0.7"] } },
  });
  return {
    label: "host-local capabilities and resolvConf",
    config,
    keys: [
      multiSetVersion,
      // runtimeConfig.ipRanges still gives a range set; only the address args.cni.ips asks for is lost.
      ipamKey((verb) => (verb === "ADD" ? fails(7) : succeeds)),
      key(["ipam", "resolvConf"], "string", PARSED_BY, (rng) =>
        rng.pick<() => ValueCase>([
          () =>
            value("resolvConf missing file", `${TOKENS.scratch}/nonexistent`, (verb) =>
              verb === "ADD" ? fails(5) : succeeds,
            ),
          () =>
            value("resolvConf a directory", `${TOKENS.scratch}/dir`, (verb) => (verb === "ADD" ? fails(5) : succeeds)),
          () => value("resolvConf too long", `/${"r".repeat(5000)}`, (verb) => (verb === "ADD" ? fails(5) : succeeds)),
          () => value("resolvConf binary garbage", `${TOKENS.scratch}/garbage`, succeeds),
          () => value("resolvConf empty", "/dev/null", succeeds),
          () => value("resolvConf unset", "", succeeds),
        ])(),
      ),
      key(["runtimeConfig"], "object", PARSED_BY),
      rangeSetsKey(["runtimeConfig", "ipRanges"], "10.3.0.0/24", ["10.8.0.0/24", "fd00:8::/64"]),
      requestedKey(["runtimeConfig", "ips"], "10.4.0.10", [
        "10.99.0.1",
        "10.4.0.1",
        "10.4.0.0",
        "10.4.0.255",
        "fd00::1",
      ]),
      key(["args"], "object", ["ADD"]),
      key(["args", "cni"], "object", ["ADD"]),
      requestedKey(["args", "cni", "ips"], "10.3.0.8", ["10.99.0.1", "10.3.0.1", "10.3.0.0", "10.3.255.255"]),
    ],
  };
}

function base(rng: Prng, verb: Verb): Base {
  const config: Record<string, unknown> = {
    cniVersion: baseVersion(rng, verb),
    name: "fz-hl",
    type: "host-local",
    ipam: { type: "host-local", dataDir: TOKENS.data },
  };
  if (verb === "GC") config["cni.dev/valid-attachments"] = [{ containerID: "fz-other", ifname: "eth0" }];
  const fromIpam = (variant: IpamVariant): Base => {
    Object.assign(config["ipam"] as Record<string, unknown>, variant.ipam);
    return {
      label: `host-local ${variant.label}`,
      config,
      keys: variant.keys,
      ...(variant.env ? { env: variant.env } : {}),
    };
  };
  const made = rng.pick([
    () => fromIpam(legacyIpam()),
    () => fromIpam(rangesIpam(String(config["cniVersion"]))),
    () => capabilitiesBase(config),
  ])();
  return { ...made, protectedPaths: [["ipam", "dataDir"]] };
}

export const hostLocal: PluginModel = {
  name: "host-local",
  base,
  keys: [
    ...commonKeys({ longName: hostLocalLongName }),
    ipamKey((verb) => (PARSED_BY.includes(verb) ? fails(7) : succeeds)),
    { ...key(["ipam", "type"], "string", []), wrongType: succeeds },
    dataDir,
  ],
  cniArgs: { keys: ["IP", "MAC"], readBy: ["ADD"] },
  // Whether an address can be had depends on the base's ranges (base.env tests those precisely).
  cniArgsValue: (name, v) => (name !== "IP" ? succeeds : isIP(v.split("/")[0] ?? "") !== 0 ? either(4) : fails(4)),
  createsLink: false,
  longName: hostLocalLongName,
  // A failed case changes nothing; a life cycle leaves the network's directory, lock and markers.
  leftovers: { afterSuccess: hostLocalState },
};

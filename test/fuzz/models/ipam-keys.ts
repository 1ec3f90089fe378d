// The keys of a host-local `ipam` object, shared by the host-local model and by the models of the
// plugins that delegate to it (bridge): the same keys, read by the same verbs. ADD, CHECK and
// STATUS parse the whole object; DEL and GC only where the reservations are (ipam.dataDir).
//
// The data dir is always the worker's own: a key mutation never removes it (the plugin would use
// the node's /var/lib/cni/networks), and byte mutations that rename or change it are discarded.

import { either, fails, type Outcome, succeeds, TOKENS, type Verb, type Verdict } from "../fuzz-case";
import type { Prng } from "../prng";
import { badAddress, badCidr, garbageString, garbageTree, hugeNumber } from "../values";
import { type EnvMutation, integerVerdict, type KeySpec, type ValueCase } from "./model";

/** An `ipam` object's keys (beyond type and dataDir) and the key specs of its own addresses. */
export interface IpamVariant {
  readonly label: string;
  readonly ipam: Readonly<Record<string, unknown>>;
  readonly keys: readonly KeySpec[];
  /** CNI_ARGS IP= in this variant's ranges. */
  readonly env?: (rng: Prng) => EnvMutation;
}

export const PARSED_BY: readonly Verb[] = ["ADD", "CHECK", "STATUS"];
export const ALL: readonly Verb[] = ["ADD", "CHECK", "DEL", "GC", "STATUS"];
/** A broken data dir: ADD and CHECK fail with 5, STATUS reports 50, DEL and GC may give up (5). */
export const brokenDataDir = (verb: Verb): Outcome =>
  verb === "STATUS" ? fails(50) : verb === "DEL" || verb === "GC" ? either(5) : fails(5);
/** A network name too long for a directory: unusable, reported as I/O or as invalid config. */
export const hostLocalLongName = (verb: Verb): Outcome =>
  verb === "STATUS" ? fails(50, 7) : verb === "DEL" || verb === "GC" ? either(5, 7) : fails(5, 7);
/** A range set with nothing to hand out: invalid for ADD, and for STATUS "cannot service ADD". */
export const noAllocatable = (verb: Verb): Outcome =>
  verb === "STATUS" ? fails(50, 7) : PARSED_BY.includes(verb) ? fails(7) : succeeds;
/** A version-dependent verdict: a second range set of one family needs 0.3.0 (results before hold one). */
export const needsMultiSet = (version: string) => (verb: Verb) =>
  PARSED_BY.includes(verb) && ["0.1.0", "0.2.0"].includes(version) ? fails(7) : succeeds;

export const key = (
  path: KeySpec["path"],
  kind: KeySpec["kind"],
  readBy: readonly Verb[],
  values?: KeySpec["values"],
  absent: KeySpec["absent"] = succeeds,
): KeySpec => ({
  path,
  kind,
  readBy,
  wrongType: fails(7),
  absent,
  ...(values !== undefined ? { values } : {}),
});

export const value = (label: string, v: unknown, outcome: ValueCase["outcome"]): ValueCase => ({
  label,
  value: v,
  outcome,
});

export const dataDir = key(
  ["ipam", "dataDir"],
  "string",
  ALL,
  (rng) =>
    rng.pick<() => ValueCase>([
      () => value("dataDir a regular file", `${TOKENS.scratch}/file`, brokenDataDir),
      () => value("dataDir through a symlink loop", `${TOKENS.scratch}/loop/x`, brokenDataDir),
      () => value("dataDir too long", `${TOKENS.scratch}/${"d".repeat(rng.pick([256, 5000]))}`, brokenDataDir),
      () => value("dataDir not yet there", `${TOKENS.scratch}/dir/new-${rng.int(0, 9)}`, succeeds),
      () => value("dataDir with ..", `${TOKENS.data}/../data-alt`, succeeds),
      () => value("dataDir relative (to the working directory)", "relative-data", succeeds),
    ])(),
  "skip",
);

export function subnetValues(
  rng: Prng,
  family: 4 | 6,
  valid: readonly string[],
  invalid: readonly string[],
): ValueCase {
  return rng.pick<() => ValueCase>([
    () => value("subnet not a CIDR", badCidr(rng, family), fails(7)),
    () => value("subnet not a CIDR", badCidr(rng, family === 4 ? 6 : 4), fails(7)),
    () => value("subnet invalid here", rng.pick(invalid), fails(7)),
    () => value("subnet valid", rng.pick(valid), succeeds),
  ])();
}

/** rangeStart, rangeEnd and gateway of one range, valid and not, for the range's own addresses. */
export function addressKey(path: KeySpec["path"], cases: readonly (readonly [string, Verdict])[]): KeySpec {
  return key(path, "string", PARSED_BY, (rng) =>
    rng.chance(0.3)
      ? value(`${String(path.at(-1))} not an address`, badAddress(rng) || "x", fails(7))
      : (([v, o]) => value(String(path.at(-1)), v, o))(rng.pick(cases)),
  );
}

export const routes = (path: KeySpec["path"]): KeySpec =>
  key(path, "array", PARSED_BY, (rng) => {
    const [label, v, outcome] = rng.pick<() => [string, unknown, Outcome]>([
      () => ["routes: a route without dst", [{ gw: "10.2.0.1" }], fails(7)],
      () => ["routes: dst not a CIDR", [{ dst: badCidr(rng, 4) || "x" }], fails(7)],
      () => ["routes: gw not an address", [{ dst: "10.0.0.0/8", gw: badAddress(rng) || "x" }], fails(7)],
      () => ["routes: an entry that is no object", [rng.pick<unknown>(["0.0.0.0/0", 5, [], null])], fails(7)],
      () => {
        const number = hugeNumber(rng);
        const field = rng.pick(["mtu", "advmss", "priority", "table", "scope"]);
        return [
          `routes: ${field} ${JSON.stringify(number)}`,
          [{ dst: "10.0.0.0/8", [field]: number }],
          integerVerdict(number, 0, field === "scope" ? 255 : Number.MAX_SAFE_INTEGER),
        ];
      },
      () => ["routes: a gateway of the other family", [{ dst: "0.0.0.0/0", gw: "fd00::1" }], either(7)],
      () => ["routes: empty", [], succeeds],
      () => ["routes: many", Array.from({ length: 500 }, (_, i) => ({ dst: `172.16.${i % 256}.0/24` })), succeeds],
    ])();
    return value(label, v, outcome);
  });

/** Range sets, as ipam.ranges or runtimeConfig.ipRanges: `others` are the sets the base has elsewhere. */
export function rangeSetsKey(
  path: KeySpec["path"],
  overlapping: string | undefined,
  free: readonly [string, string],
): KeySpec {
  return key(path, "array", PARSED_BY, (rng) => {
    const set = (subnet: string) => [{ subnet }];
    return rng.pick<() => ValueCase>([
      () => value("ranges empty", [], path[0] === "ipam" ? fails(7) : succeeds),
      () => value("ranges with an empty set", [[]], fails(7)),
      () => value("ranges: a set that is no array", [rng.pick<unknown>([{ subnet: free[0] }, free[0], 5])], fails(7)),
      () => value("ranges: a range without subnet", [[{ rangeStart: "10.8.0.5" }]], fails(7)),
      () => value("ranges: a range that is no object", [[rng.pick<unknown>(["x", 5, null, []])]], fails(7)),
      () => value("ranges: two sets that overlap", [set(free[0]), set(free[0])], fails(7)),
      () =>
        overlapping === undefined
          ? value("ranges: a set of another family only", [set(free[1])], succeeds)
          : value("ranges: a set overlapping another key's", [set(overlapping)], fails(7)),
      () => value("ranges: overlapping ranges in one set", [[{ subnet: free[0] }, { subnet: free[0] }]], fails(7)),
      () => value("ranges: families mixed in one set", [[{ subnet: free[0] }, { subnet: free[1] }]], fails(7)),
      () => value("ranges: garbage", garbageTree(rng, 4), either(7)),
    ])();
  });
}

/** Requested addresses (runtimeConfig.ips, args.cni.ips): `inRange` free ones, `unusable` never allocatable. */
export function requestedKey(path: KeySpec["path"], inRange: string, unusable: readonly string[]): KeySpec {
  return key(path, "stringArray", ["ADD"], (rng) =>
    rng.pick<() => ValueCase>([
      () => value("requested address", [inRange], succeeds),
      () => value("requested address with a prefix", [`${inRange}/24`], succeeds),
      () => value("requested address never allocatable", [rng.pick(unusable)], fails(7)),
      () => value("requested address not an address", [badAddress(rng) || "x"], fails(7)),
      () => value("no requested address", [], succeeds),
    ])(),
  );
}

/** The legacy form: `ipam.subnet` 10.1.0.0/24, with rangeStart, rangeEnd and gateway to add. */
export function legacyIpam(): IpamVariant {
  const p = (name: string) => ["ipam", name];
  return {
    label: "legacy subnet",
    ipam: { subnet: "10.1.0.0/24" },
    keys: [
      key(
        p("subnet"),
        "string",
        PARSED_BY,
        (rng) =>
          subnetValues(
            rng,
            4,
            ["10.77.0.0/16", "fd00:77::/64", "0.0.0.0/0", "::/0", "10.1.0.0/30"],
            ["10.1.0.1/24", "10.1.0.0/31", "10.1.0.0/32", "fd00::/127", "fd00::1/128"],
          ),
        fails(7),
      ),
      addressKey(p("rangeStart"), [
        ["10.1.0.5", succeeds],
        ["", succeeds],
        ["10.1.0.255", fails(7)],
        ["10.2.0.5", fails(7)],
        ["fd00::5", fails(7)],
        ["10.1.0.0", either(7)],
      ]),
      addressKey(p("rangeEnd"), [
        ["10.1.0.200", succeeds],
        ["10.1.0.0", fails(7)],
        ["10.1.0.1", noAllocatable],
        ["10.9.0.1", fails(7)],
        ["10.1.0.255", either(7)],
      ]),
      addressKey(p("gateway"), [
        ["10.1.0.254", succeeds],
        ["10.9.9.9", succeeds],
        ["", succeeds],
        ["fd00::1", fails(7)],
      ]),
    ],
    env: (rng) => cniArgsIp(rng, "10.1.0.9", ["10.9.0.1", "10.1.0.1", "10.1.0.0", "10.1.0.255", "fd00::1"]),
  };
}

/** Dual stack in `ipam.ranges` (10.2.0.10-50 and fd00:2::/64) with routes; `version` is the config's. */
export function rangesIpam(version: string): IpamVariant {
  const r = (...rest: (string | number)[]) => ["ipam", "ranges", ...rest];
  return {
    label: "ranges",
    ipam: {
      ranges: [
        [{ subnet: "10.2.0.0/24", rangeStart: "10.2.0.10", rangeEnd: "10.2.0.50", gateway: "10.2.0.1" }],
        [{ subnet: "fd00:2::/64" }],
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.2.0.1" }],
    },
    keys: [
      { ...rangeSetsKey(["ipam", "ranges"], undefined, ["10.8.0.0/24", "fd00:8::/64"]), absent: fails(7) },
      key(
        r(0, 0, "subnet"),
        "string",
        PARSED_BY,
        (rng) =>
          subnetValues(
            rng,
            4,
            ["10.2.0.0/16", "10.0.0.0/8"],
            ["10.3.0.0/24", "10.2.0.0/27", "10.2.0.1/24", "fd00:2::/64"],
          ),
        fails(7),
      ),
      key(
        r(1, 0, "subnet"),
        "string",
        PARSED_BY,
        (rng) => subnetValues(rng, 6, ["fd00:3::/64", "fd00:2::/126"], ["fd00:2::/127", "10.2.0.0/24", "fd00:2::1/64"]),
        fails(7),
      ),
      addressKey(r(0, 0, "rangeStart"), [
        ["10.2.0.20", succeeds],
        ["10.2.0.60", fails(7)],
        ["10.3.0.1", fails(7)],
        ["fd00:2::9", fails(7)],
      ]),
      addressKey(r(0, 0, "rangeEnd"), [
        ["10.2.0.40", succeeds],
        ["10.2.0.5", fails(7)],
        ["10.2.1.1", fails(7)],
      ]),
      addressKey(r(0, 0, "gateway"), [
        ["10.2.0.254", succeeds],
        ["fd00:2::1", fails(7)],
      ]),
      addressKey(r(1, 0, "rangeStart"), [
        ["fd00:2::100", succeeds],
        ["10.2.0.20", fails(7)],
        ["fd00:3::1", fails(7)],
      ]),
      routes(["ipam", "routes"]),
      key(["ipam", "routes", 1, "gw"], "string", PARSED_BY, (rng) =>
        value("route gw", badAddress(rng) || "x", fails(7)),
      ),
      key(
        ["ipam", "routes", 0, "dst"],
        "string",
        PARSED_BY,
        (rng) => value("route dst", badCidr(rng, 4) || "x", fails(7)),
        fails(7),
      ),
      key(r(1), "array", PARSED_BY, () =>
        value("a second IPv4 set", [{ subnet: "10.9.0.0/24" }], needsMultiSet(version)),
      ),
      key(
        r(0, 0),
        "object",
        PARSED_BY,
        () =>
          value(
            "a range with only the gateway to hand out",
            { subnet: "10.2.0.0/24", rangeStart: "10.2.0.1", rangeEnd: "10.2.0.1" },
            noAllocatable,
          ),
        fails(7),
      ),
    ],
  };
}

/** CNI_ARGS IP=: an address of the base's ranges succeeds; one that can never be allocated is code 4. */
export function cniArgsIp(rng: Prng, inRange: string, unusable: readonly string[]): EnvMutation {
  const [v, outcome] = rng.pick<() => [string, Outcome]>([
    () => [`IP=${inRange}`, succeeds],
    () => [`IgnoreUnknown=1;IP=${inRange}/24;K8S_POD_NAME=x`, succeeds],
    () => [`IP=${rng.pick(unusable)}`, fails(4)],
    () => [`IP=${badAddress(rng) || "x"}`.replaceAll(";", ","), fails(4)],
    () => [`IP=${garbageString(rng, 3)}`.replaceAll(";", ",").replaceAll("=", "-"), fails(4)],
  ])();
  return { label: "CNI_ARGS IP", name: "CNI_ARGS", value: v, outcome: (verb) => (verb === "ADD" ? outcome : succeeds) };
}

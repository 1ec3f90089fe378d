// host-local's configuration: the `ipam` object of the network config, the `ipRanges` and `ips`
// capabilities, `args.cni.ips` and CNI_ARGS `IP=`. Everything is validated here, once; each error
// names the key it is about (code 7, or 4 for CNI_ARGS).
//
// Differences from the reference, all rejections of configs that could only misbehave: a range
// whose rangeStart is after its rangeEnd, a range with no address to hand out, a gateway of the
// other family, legacy rangeStart/rangeEnd/gateway without a legacy subnet (the reference ignores
// them silently), a requested address that no range can give (the reference fails with 999).

import type { CniArgs } from "../../cni/cni-args";
import { CniError, ErrorCode } from "../../cni/errors";
import { JsonReader, JsonShapeError } from "../../cni/json";
import type { NetConf } from "../../cni/plugin";
import { decodeRoute, type Route } from "../../cni/result";
import { versionAtLeast } from "../../cni/version";
import { type Address, formatAddress, parseAddress, parseSubnet, sameAddress } from "./address";
import { Range, RangeSet } from "./range-set";

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

/** Where a network's reservations live: `<dataDir>/<network>/`. */
export interface StoreLocation {
  readonly dataDir: string;
  /** The network name, validated by the skeleton (safe as a path component). */
  readonly network: string;
}

export interface HostLocalConfig extends StoreLocation {
  /** One address is allocated from each set, in this order. */
  readonly rangeSets: readonly RangeSet[];
  readonly routes: readonly Route[];
  readonly resolvConf: string | undefined;
}

/** A range set with the key it came from, for error messages. */
interface KeyedRangeSet {
  readonly key: string;
  readonly set: RangeSet;
}

/** The whole configuration (ADD, CHECK, STATUS). */
export function parseConfig(config: NetConf): HostLocalConfig {
  return withKeyErrors(() => {
    const ipam = ipamReader(config);
    const runtimeConfig = new JsonReader(config.raw).child("runtimeConfig");
    const keyed = [
      ...(runtimeConfig?.array("ipRanges", parseRangeSet) ?? []),
      ...legacyRangeSet(ipam),
      ...(ipam.array("ranges", parseRangeSet) ?? []),
    ];
    checkRangeSets(keyed, config);
    return {
      ...storeLocation(config, ipam),
      rangeSets: keyed.map((k) => k.set),
      routes: ipam.array("routes", parseRoute) ?? [],
      resolvConf: nonEmpty(ipam.string("resolvConf")),
    };
  });
}

/** Only where the reservations are: DEL and GC must work even when the ranges no longer parse. */
export function parseStoreLocation(config: NetConf): StoreLocation {
  return withKeyErrors(() => storeLocation(config, ipamReader(config)));
}

/**
 * The addresses asked for: CNI_ARGS `IP=`, then `args.cni.ips`, then the `ips` capability
 * (`runtimeConfig.ips`), merged without repeats as the reference does. "ip/prefix" is accepted
 * and the prefix ignored: the range decides it. An address no range of `rangeSets` can ever hand
 * out (in none of them, or a range's gateway, network or broadcast address) is a bad request,
 * refused before the store is touched: code 4 from CNI_ARGS, 7 from the config (the reference
 * finds out while allocating and answers 999).
 */
export function parseRequestedAddresses(config: NetConf, cniArgs: CniArgs, rangeSets: readonly RangeSet[]): Address[] {
  // MAC is the bridge's; both plugins read the one CNI_ARGS a runtime sets for the chain.
  const fromEnv = nonEmpty(cniArgs.load(["IP", "MAC"]).IP);
  const requested: Address[] = [];
  if (fromEnv !== undefined) {
    const invalid = (problem: string) => new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS IP: ${problem}`);
    requested.push(requestedAddress(fromEnv, rangeSets, invalid));
  }
  withKeyErrors(() => {
    const root = new JsonReader(config.raw);
    const parse = (value: unknown, key: string): Address => {
      if (typeof value !== "string") throw new JsonShapeError(key, "an IP address", value);
      return requestedAddress(value, rangeSets, (problem) => invalidKey(key, problem));
    };
    for (const holder of [root.child("args")?.child("cni"), root.child("runtimeConfig")]) {
      requested.push(...(holder?.array("ips", parse) ?? []));
    }
  });
  return requested.filter((a, i) => requested.findIndex((b) => sameAddress(a, b)) === i);
}

function requestedAddress(
  text: string,
  rangeSets: readonly RangeSet[],
  invalid: (problem: string) => CniError,
): Address {
  const address = text.includes("/") ? parseSubnet(text)?.address : parseAddress(text);
  if (address === undefined) throw invalid(notAnAddress(text));
  const range = rangeSets.find((set) => set.contains(address))?.rangeFor(address);
  if (range === undefined) throw invalid(`${formatAddress(address)} is in none of the ranges`);
  if (!range.isAllocatable(address.value)) {
    throw invalid(`${formatAddress(address)} is the gateway, network or broadcast address of range ${range}`);
  }
  return address;
}

const notAnAddress = (text: string): string => `${JSON.stringify(text)} is not an IP address`;

function ipamReader(config: NetConf): JsonReader {
  const ipam = new JsonReader(config.raw).child("ipam");
  if (ipam === undefined) throw invalidKey("ipam", "missing: host-local is configured by the 'ipam' key");
  return ipam;
}

function storeLocation(config: NetConf, ipam: JsonReader): StoreLocation {
  return { dataDir: nonEmpty(ipam.string("dataDir")) ?? DEFAULT_DATA_DIR, network: config.name };
}

/** The pre-`ranges` form: subnet/rangeStart/rangeEnd/gateway directly in `ipam`, a set of one. */
function legacyRangeSet(ipam: JsonReader): KeyedRangeSet[] {
  if (ipam.has("subnet")) return [{ key: "ipam", set: new RangeSet([parseRange(ipam)]) }];
  const orphan = ["rangeStart", "rangeEnd", "gateway"].find((key) => nonEmpty(ipam.string(key)) !== undefined);
  if (orphan !== undefined) throw invalidKey(`ipam.${orphan}`, "needs ipam.subnet (or move it into ipam.ranges)");
  return [];
}

function parseRangeSet(value: unknown, key: string): KeyedRangeSet {
  if (!Array.isArray(value)) throw new JsonShapeError(key, "an array of ranges", value);
  if (value.length === 0) throw invalidKey(key, "empty range set");
  const ranges = value.map((item, j) => parseRange(new JsonReader(item, `${key}[${j}]`)));
  const family = ranges[0]!.family;
  const other = ranges.findIndex((range) => range.family !== family);
  if (other !== -1) throw invalidKey(`${key}[${other}]`, `mixed address families in one range set`);
  for (const [j, range] of ranges.entries()) {
    const earlier = ranges.slice(0, j).findIndex((r) => r.overlaps(range));
    if (earlier !== -1) throw invalidKey(`${key}[${j}]`, `${range} overlaps ${key}[${earlier}] (${ranges[earlier]})`);
  }
  return { key, set: new RangeSet(ranges) };
}

function parseRange(reader: JsonReader): Range {
  const key = (name: string): string => keyOf(reader, name);
  const subnetText = reader.string("subnet");
  if (subnetText === undefined) throw invalidKey(key("subnet"), "missing: every range needs a subnet");
  const subnet = parseSubnet(subnetText);
  if (subnet === undefined) throw invalidKey(key("subnet"), `${JSON.stringify(subnetText)} is not a CIDR`);
  const { family, prefixLength, first, last } = subnet;
  if (prefixLength > (family === 4 ? 30 : 126)) {
    throw invalidKey(key("subnet"), `network ${subnetText} too small to allocate from`);
  }
  if (subnet.address.value !== first.value) {
    const network = `${formatAddress(first)}/${prefixLength}`;
    throw invalidKey(key("subnet"), `${subnetText} has host bits set; the network address is ${network}`);
  }
  const inSubnet = (name: string): Address | undefined => {
    const address = optionalAddress(reader, name, family);
    if (address !== undefined && (address.value < first.value || address.value > last.value)) {
      throw invalidKey(key(name), `${formatAddress(address)} is not in network ${subnetText}`);
    }
    return address;
  };

  // Defaults as the reference: gateway and rangeStart .1 (the iterator skips the gateway), rangeEnd
  // the last address, less the broadcast for IPv4.
  const gateway = optionalAddress(reader, "gateway", family)?.value ?? first.value + 1n;
  const start = inSubnet("rangeStart")?.value ?? first.value + 1n;
  const end = inSubnet("rangeEnd")?.value ?? (family === 4 ? last.value - 1n : last.value);
  if (start > end) {
    throw invalidKey(
      key("rangeEnd"),
      `${formatAddress({ family, value: end })} is before rangeStart ${formatAddress({ family, value: start })}`,
    );
  }
  const range = new Range({ family, network: first.value, prefixLength, last: last.value, start, end, gateway });
  // The reference accepts such a range and fails every ADD with "no IP addresses available".
  if (range.capacity() === 0n) {
    throw invalidKey(reader.path, `${range} has no address to hand out besides the gateway, network or broadcast`);
  }
  return range;
}

/** An optional address of the range's family; "" counts as absent, as Go's net.IP reads it. */
function optionalAddress(reader: JsonReader, name: string, family: 4 | 6): Address | undefined {
  const text = nonEmpty(reader.string(name));
  if (text === undefined) return undefined;
  const key = keyOf(reader, name);
  const address = parseAddress(text);
  if (address === undefined) throw invalidKey(key, notAnAddress(text));
  if (address.family !== family) throw invalidKey(key, `${text} is not an IPv${family} address like the subnet`);
  return address;
}

function checkRangeSets(keyed: readonly KeyedRangeSet[], config: NetConf): void {
  if (keyed.length === 0) throw invalidKey("ipam.ranges", "no IP ranges specified");
  for (const [i, { key, set }] of keyed.entries()) {
    const earlier = keyed.slice(0, i).find((other) => other.set.overlaps(set));
    if (earlier !== undefined) throw invalidKey(key, `range set overlaps range set ${earlier.key}`);
  }
  // Results before 0.3.0 hold one IPv4 and one IPv6 address.
  for (const family of [4, 6] as const) {
    const count = keyed.filter((k) => k.set.family === family).length;
    if (count > 1 && !versionAtLeast(config.cniVersion, "0.3.0")) {
      throw invalidKey(
        "ipam.ranges",
        `CNI version ${config.cniVersion} does not support more than 1 address per family (${count} IPv${family} range sets)`,
      );
    }
  }
}

function parseRoute(value: unknown, key: string): Route {
  try {
    return decodeRoute(value, key);
  } catch (error: unknown) {
    if (error instanceof RangeError) throw invalidKey(key, error.message);
    throw error;
  }
}

const keyOf = (reader: JsonReader, name: string): string => (reader.path === "" ? name : `${reader.path}.${name}`);

const nonEmpty = (value: string | undefined): string | undefined => (value === "" ? undefined : value);

function invalidKey(key: string, problem: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `${key}: ${problem}`);
}

/** Shape errors (a string where an object belongs...) become code 7; they already name the key. */
function withKeyErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, error.message, "", { cause: error });
    }
    throw error;
  }
}

// The result of ADD, held internally in the newest shape (1.1.0) and converted to and from every
// spec version at the edges, with the same rules as libcni's converters.

import { ipFamily, parseCidr } from "../native/netlink/ip";
import { JsonReader, JsonShapeError } from "./json";
import { isSpecVersion, resultFamily, type SpecVersion, versionAtLeast } from "./version";

export interface Interface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  /** The netns path, for interfaces inside the container. */
  readonly sandbox?: string;
  readonly socketPath?: string;
  readonly pciID?: string;
}

export interface IpConfig {
  /** "address/prefix" with the host's own address, e.g. "10.22.0.5/24". */
  readonly address: string;
  readonly gateway?: string;
  /** Index into `interfaces`; absent in IPAM results. */
  readonly interface?: number;
}

export interface Route {
  readonly dst: string;
  readonly gw?: string;
  readonly mtu?: number;
  readonly advmss?: number;
  readonly priority?: number;
  readonly table?: number;
  readonly scope?: number;
}

export interface Dns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

export interface Result {
  readonly interfaces: readonly Interface[];
  readonly ips: readonly IpConfig[];
  readonly routes: readonly Route[];
  readonly dns: Dns;
}

export const emptyResult = (): Result => ({ interfaces: [], ips: [], routes: [], dns: {} });

// ---------------------------------------------------------------------------------------------
// Encoding: Result -> JSON object of a given version

/** The result as a JSON-ready object in `version`'s shape (keys in libcni's order). */
export function encodeResult(result: Result, version: SpecVersion): Record<string, unknown> {
  switch (resultFamily(version)) {
    case "1.x":
      return encodeCurrent(result, version);
    case "0.4":
      return encode04(result, version);
    case "0.2":
      return encode02(result, version);
  }
}

function encodeCurrent(result: Result, version: SpecVersion): Record<string, unknown> {
  const is11 = versionAtLeast(version, "1.1.0");
  return {
    cniVersion: version,
    ...nonEmpty(
      "interfaces",
      result.interfaces.map((i) => (is11 ? { ...i } : interface04(i))),
    ),
    ...nonEmpty(
      "ips",
      result.ips.map((ip) => ({ ...pick(ip, ["interface", "address", "gateway"]) })),
    ),
    ...nonEmpty(
      "routes",
      result.routes.map((r) => (is11 ? { ...r } : route04(r))),
    ),
    ...dnsField(result.dns),
  };
}

function encode04(result: Result, version: SpecVersion): Record<string, unknown> {
  return {
    cniVersion: version,
    ...nonEmpty("interfaces", result.interfaces.map(interface04)),
    ...nonEmpty(
      "ips",
      result.ips.map((ip) => ({
        version: String(addressFamily(ip.address)),
        ...pick(ip, ["interface", "address", "gateway"]),
      })),
    ),
    ...nonEmpty("routes", result.routes.map(route04)),
    ...dnsField(result.dns),
  };
}

/** 0.1/0.2 hold one IPv4 and one IPv6 config; routes go to the config of their family. */
function encode02(result: Result, version: SpecVersion): Record<string, unknown> {
  const byFamily = (family: 4 | 6): Record<string, unknown> | undefined => {
    const ip = result.ips.find((c) => addressFamily(c.address) === family);
    if (ip === undefined) return undefined;
    const routes = result.routes.filter((r) => addressFamily(r.dst) === family).map(route04);
    return { ip: ip.address, ...pick(ip, ["gateway"]), ...nonEmpty("routes", routes) };
  };
  const ip4 = byFamily(4);
  const ip6 = byFamily(6);
  return {
    cniVersion: version,
    ...(ip4 !== undefined ? { ip4 } : {}),
    ...(ip6 !== undefined ? { ip6 } : {}),
    ...dnsField(result.dns),
  };
}

const interface04 = (i: Interface): Record<string, unknown> => pick(i, ["name", "mac", "sandbox"]);
const route04 = (r: Route): Record<string, unknown> => pick(r, ["dst", "gw"]);

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined && source[key] !== "") out[key as string] = source[key];
  return out;
}

function nonEmpty(key: string, values: readonly unknown[]): Record<string, unknown> {
  return values.length > 0 ? { [key]: values } : {};
}

function dnsField(dns: Dns): Record<string, unknown> {
  const fields = pick(dns, ["nameservers", "domain", "search", "options"]);
  for (const key of ["nameservers", "search", "options"]) {
    const list = fields[key];
    if (Array.isArray(list) && list.length === 0) delete fields[key];
  }
  return Object.keys(fields).length > 0 ? { dns: fields } : {};
}

function addressFamily(cidrOrIp: string): 4 | 6 {
  const slash = cidrOrIp.indexOf("/");
  return ipFamily(slash === -1 ? cidrOrIp : cidrOrIp.slice(0, slash)) === 6 ? 6 : 4;
}

// ---------------------------------------------------------------------------------------------
// Decoding: JSON of some version -> Result

/** The result could not be read; `path` names the offending field. */
export class ResultDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResultDecodeError";
  }
}

/**
 * Reads a result (a prevResult, or a delegate's reply). Its shape follows its own `cniVersion`;
 * when that is absent, `defaultVersion` (the config's), as libcni injects it.
 */
export function decodeResult(value: unknown, defaultVersion: SpecVersion): { version: SpecVersion; result: Result } {
  try {
    const reader = new JsonReader(value);
    const declared = reader.string("cniVersion");
    const version = declared === undefined || declared === "" ? defaultVersion : declared;
    if (!isSpecVersion(version)) throw new ResultDecodeError(`unsupported result version ${JSON.stringify(version)}`);
    const result = resultFamily(version) === "0.2" ? decode02(reader) : decodeCurrent(reader);
    return { version, result };
  } catch (error: unknown) {
    if (error instanceof JsonShapeError || error instanceof RangeError) {
      throw new ResultDecodeError(error.message, { cause: error });
    }
    throw error;
  }
}

/** 0.3.0 to 1.1.0 share one layout; the 0.3/0.4 `version` field of ips is derived, so ignored. */
function decodeCurrent(reader: JsonReader): Result {
  return {
    interfaces: reader.array("interfaces", decodeInterface) ?? [],
    ips: reader.array("ips", decodeIpConfig) ?? [],
    routes: reader.array("routes", decodeRoute) ?? [],
    dns: decodeDns(reader.child("dns")),
  };
}

function decode02(reader: JsonReader): Result {
  const ips: IpConfig[] = [];
  const routes: Route[] = [];
  for (const key of ["ip4", "ip6"]) {
    const config = reader.child(key);
    if (config === undefined) continue;
    const address = config.requireString("ip");
    parseCidr(address);
    const gateway = optionalIp(config, "gateway");
    ips.push({ address, ...(gateway !== undefined ? { gateway } : {}) });
    routes.push(...(config.array("routes", decodeRoute) ?? []));
  }
  return { interfaces: [], ips, routes, dns: decodeDns(reader.child("dns")) };
}

function decodeInterface(value: unknown, path: string): Interface {
  const r = new JsonReader(value, path);
  return stripUndefined({
    name: r.requireString("name"),
    mac: r.string("mac"),
    mtu: r.integer("mtu", 0),
    sandbox: r.string("sandbox"),
    socketPath: r.string("socketPath"),
    pciID: r.string("pciID"),
  });
}

function decodeIpConfig(value: unknown, path: string): IpConfig {
  const r = new JsonReader(value, path);
  const address = r.requireString("address");
  parseCidr(address);
  return stripUndefined({ address, gateway: optionalIp(r, "gateway"), interface: r.integer("interface") });
}

export function decodeRoute(value: unknown, path: string): Route {
  const r = new JsonReader(value, path);
  const dst = r.requireString("dst");
  parseCidr(dst);
  return stripUndefined({
    dst,
    gw: optionalIp(r, "gw"),
    mtu: r.integer("mtu", 0),
    advmss: r.integer("advmss", 0),
    priority: r.integer("priority", 0),
    table: r.integer("table", 0),
    scope: r.integer("scope", 0, 255),
  });
}

function decodeDns(reader: JsonReader | undefined): Dns {
  if (reader === undefined) return {};
  return stripUndefined({
    nameservers: reader.stringArray("nameservers"),
    domain: reader.string("domain"),
    search: reader.stringArray("search"),
    options: reader.stringArray("options"),
  });
}

function optionalIp(reader: JsonReader, key: string): string | undefined {
  const value = reader.string(key);
  if (value !== undefined && value !== "" && ipFamily(value) === undefined) {
    throw new JsonShapeError(`${reader.path === "" ? "" : `${reader.path}.`}${key}`, "an IP address", value);
  }
  return value === "" ? undefined : value;
}

/** Drops undefined fields, so objects satisfy exact optional property types. */
function stripUndefined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out as T;
}

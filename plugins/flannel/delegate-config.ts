// The delegate config: flannel's own config combined with subnet.env, built step by step as the
// upstream plugin builds it (`cmdAdd`, `doCmdAdd`, `getDelegateIPAM`), so that for the same input
// the saved file is the same bytes. For the kube-flannel conflist and a node holding 10.244.1.0/24:
//
//   {"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,
//    "ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},
//    "isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}

import { CniError, ErrorCode } from "../../cni/errors";
import { type JsonObject, JsonReader, JsonShapeError } from "../../cni/json";
import { formatCidr } from "../../native/netlink/ip";
import type { FlannelConf } from "./config";
import { GoStruct, goJson } from "./go-json";
import { parseGoCidr, parseGoIp } from "./go-net";
import type { SubnetEnv } from "./subnet-env";

export interface DelegateConfig {
  /** The delegate plugin's type, "bridge" unless the `delegate` object names another. */
  readonly type: string;
  /** The config as a JSON object (a Go map: encoded with sorted keys). */
  readonly json: JsonObject;
}

/** Key present, whatever its value (null included), as Go's `_, ok := m[k]`. */
const hasKey = (object: JsonObject, key: string): boolean => Object.hasOwn(object, key);

export function buildDelegateConfig(conf: FlannelConf, env: SubnetEnv): DelegateConfig {
  const delegate: Record<string, unknown> = { ...conf.delegate };
  if (hasKey(delegate, "type") && typeof delegate["type"] !== "string") {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if (hasKey(delegate, "name"))
    throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if (hasKey(delegate, "ipam"))
    throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");

  if (conf.runtimeConfig !== undefined) delegate["runtimeConfig"] = conf.runtimeConfig;
  delegate["name"] = conf.name;
  // Present means a string (checked above).
  const type = typeof delegate["type"] === "string" ? delegate["type"] : "bridge";
  delegate["type"] = type;
  // Masquerade in one place only: the plugin does it when the node daemon does not.
  if (!hasKey(delegate, "ipMasq")) delegate["ipMasq"] = !env.ipMasq;
  if (!hasKey(delegate, "mtu")) delegate["mtu"] = env.mtu;
  if (type === "bridge" && !hasKey(delegate, "isGateway")) delegate["isGateway"] = true;
  if (conf.cniVersion !== undefined) delegate["cniVersion"] = conf.cniVersion;
  delegate["ipam"] = delegateIpam(conf.ipam ?? {}, env);
  return { type, json: delegate };
}

/** The exact bytes handed to the delegate and saved for DEL. */
export function encodeDelegateConfig(json: JsonObject): Uint8Array {
  return new TextEncoder().encode(goJson(json));
}

/**
 * The plugin's `ipam` object with host-local as the default type, its ranges replaced by the
 * node's subnets (one range set per family) and a route to each cluster network added after its
 * own routes. Its other keys (dataDir, resolvConf, ...) pass through untouched.
 */
function delegateIpam(base: JsonObject, env: SubnetEnv): JsonObject {
  const ipam: Record<string, unknown> = { ...base };
  if (!hasKey(ipam, "type")) ipam["type"] = "host-local";
  ipam["ranges"] = [env.subnet, env.ipv6Subnet].filter((s) => s !== undefined).map((subnet) => [{ subnet }]);
  const clusterRoutes = [...env.networks, ...env.ipv6Networks].map((dst) => new GoStruct({ dst }));
  ipam["routes"] = [...ipamRoutes(base), ...clusterRoutes];
  return ipam;
}

/**
 * `ipam.routes` read into the CNI library's Route type and written back as Go writes it: known
 * fields only, in declaration order, addresses canonical, zero mtu/advmss/priority left out.
 */
function ipamRoutes(ipam: JsonObject): GoStruct[] {
  try {
    return (
      new JsonReader(ipam, "ipam").array("routes", (value, path) => {
        const route = new JsonReader(value, path);
        const gw = route.string("gw");
        const nonZero = (key: string) => {
          const number = route.integer(key);
          return number === 0 ? undefined : number;
        };
        return new GoStruct({
          dst: parseAs(`${path}.dst`, "a CIDR", route.requireString("dst"), (text) => formatCidr(parseGoCidr(text))),
          gw: gw === undefined || gw === "" ? undefined : parseAs(`${path}.gw`, "an IP address", gw, parseGoIp),
          mtu: nonZero("mtu"),
          advmss: nonZero("advmss"),
          priority: nonZero("priority"),
          table: route.integer("table"),
          scope: route.integer("scope"),
        });
      }) ?? []
    );
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) throw invalid("failed to parse ipam.routes", error.message, error);
    throw error;
  }
}

function parseAs(path: string, expected: string, text: string, parse: (text: string) => string): string {
  try {
    return parse(text);
  } catch (error: unknown) {
    if (error instanceof RangeError) throw new JsonShapeError(path, expected, text);
    throw error;
  }
}

function invalid(message: string, details = "", cause?: unknown): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, message, details, cause === undefined ? undefined : { cause });
}

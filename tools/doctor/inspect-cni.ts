// The node's network configurations as the plugins would read them: which plugins each one runs,
// which bridge its pods hang off, what the bridge should look like (gateway addresses, MTU) and
// where host-local keeps its reservations. flannel's bridge + host-local config is built from
// subnet.env by the plugin's own code, so the doctor expects exactly what an ADD would do.

import { findInPath } from "../../cni/exec";
import { type JsonObject, JsonReader } from "../../cni/json";
import type { NetConf } from "../../cni/plugin";
import { isSpecVersion } from "../../cni/version";
import { formatAddress } from "../../ipam/host-local/address";
import {
  DEFAULT_DATA_DIR as HOST_LOCAL_DATA_DIR,
  parseConfig as parseHostLocalConfig,
} from "../../ipam/host-local/config";
import type { RangeSet } from "../../ipam/host-local/range-set";
import { parseFlannelConf } from "../../plugins/flannel/config";
import { buildDelegateConfig, encodeDelegateConfig } from "../../plugins/flannel/delegate-config";
import type { SubnetEnv } from "../../plugins/flannel/subnet-env";
import { type NetworkConfigFile, readConfDir } from "../network-config-files";
import type { NetworkState, RequiredPlugin } from "./report";

const DEFAULT_BRIDGE = "cni0";

/** A network whose pods hang off a Linux bridge, with what the bridge plugin would make of it. */
export interface BridgeNetwork {
  readonly network: string;
  readonly bridge: string;
  /** The `mtu` the bridge plugin is given (flannel: FLANNEL_MTU); undefined: the kernel's default. */
  readonly mtu: number | undefined;
  /** The gateway addresses the plugin puts on the bridge ("10.244.1.1/24"), when it is a gateway. */
  readonly gateways: readonly string[];
  /** host-local's reservations; undefined for another IPAM. */
  readonly ipam: { readonly dataDir: string; readonly rangeSets: readonly RangeSet[] } | undefined;
}

export interface CniInspection {
  readonly networks: readonly NetworkState[];
  readonly bridgeNetworks: readonly BridgeNetwork[];
  /** Files that could not be read or parsed, or whose plugins' config is invalid ("path: why"). */
  readonly problems: readonly string[];
  /** What does not stop a file from working but may mislead ("path: why"). */
  readonly warnings: readonly string[];
  /** host-local data dirs to look for networks no config names any more. */
  readonly dataDirs: readonly string[];
}

export interface CniInspectionOptions {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  /** subnet.env as the flannel plugin reads it, when it can. */
  readonly subnetEnv: SubnetEnv | undefined;
  readonly subnetFile: string;
}

export async function inspectCni(options: CniInspectionOptions): Promise<CniInspection> {
  const { files, errors } = readConfDir(options.confDir);
  const problems = errors.map((error) => error.message);
  const warnings: string[] = [];
  const networks: NetworkState[] = [];
  const bridgeNetworks: BridgeNetwork[] = [];
  const dataDirs = new Set<string>();
  for (const [index, file] of files.entries()) {
    let bridgeNetwork: BridgeNetwork | undefined;
    let problem: string | undefined;
    try {
      const found = bridgeNetworkOf(file, options);
      bridgeNetwork = found.network;
      problem = found.warning;
      if (found.warning !== undefined) warnings.push(`${file.path}: ${found.warning}`);
      if (found.dataDir !== undefined) dataDirs.add(found.dataDir);
    } catch (error: unknown) {
      problem = error instanceof Error ? error.message : String(error);
      problems.push(`${file.path}: ${problem}`);
    }
    if (bridgeNetwork !== undefined) bridgeNetworks.push(bridgeNetwork);
    networks.push({
      file: file.path,
      name: file.name,
      default: index === 0,
      plugins: await Promise.all(requiredPlugins(file).map((type) => locate(type, options.binDirs))),
      bridge: bridgeNetwork?.bridge ?? null,
      problem: problem ?? null,
    });
  }
  return { networks, bridgeNetworks, problems, warnings, dataDirs: [...dataDirs] };
}

/** Every plugin the chain runs: each entry, its IPAM, and flannel's delegate and its IPAM. */
export function requiredPlugins(file: NetworkConfigFile): string[] {
  const types: string[] = [];
  for (const plugin of file.plugins) {
    const reader = new JsonReader(plugin);
    const type = reader.requireString("type");
    types.push(type);
    const ipamType = reader.child("ipam")?.string("type");
    if (type === "flannel") {
      types.push(reader.child("delegate")?.string("type") ?? "bridge", ipamType ?? "host-local");
    } else if (ipamType !== undefined && ipamType !== "") {
      types.push(ipamType);
    }
  }
  return [...new Set(types)];
}

async function locate(type: string, binDirs: readonly string[]): Promise<RequiredPlugin> {
  try {
    return { type, path: await findInPath(type, binDirs) };
  } catch {
    return { type, path: null };
  }
}

interface Found {
  readonly network?: BridgeNetwork;
  /** Something to tell that does not make the file unusable. */
  readonly warning?: string;
  readonly dataDir?: string;
}

function bridgeNetworkOf(file: NetworkConfigFile, options: CniInspectionOptions): Found {
  for (const plugin of file.plugins) {
    const netConf = asNetConf(file, plugin);
    if (netConf.type === "bridge") return { ...fromBridgeConfig(netConf), ...dataDirOf(plugin) };
    if (netConf.type !== "flannel") continue;
    const flannel = parseFlannelConf(netConf);
    const delegateBridge = new JsonReader(flannel.delegate ?? {}).string("bridge") ?? DEFAULT_BRIDGE;
    const dataDir = new JsonReader(flannel.ipam ?? {}).string("dataDir") ?? HOST_LOCAL_DATA_DIR;
    const unknown = { network: file.name, bridge: delegateBridge, mtu: undefined, gateways: [], ipam: undefined };
    if (flannel.subnetFile !== options.subnetFile) {
      const warning = `flannel reads ${flannel.subnetFile}, not ${options.subnetFile} (--subnet-file)`;
      return { network: unknown, warning, dataDir };
    }
    if (options.subnetEnv === undefined) return { network: unknown, dataDir };
    const delegate = buildDelegateConfig(flannel, options.subnetEnv);
    if (delegate.type !== "bridge") return { dataDir };
    // The bytes the plugin hands to its delegate, read back as the delegate reads them.
    const json = JSON.parse(new TextDecoder().decode(encodeDelegateConfig(delegate.json))) as JsonObject;
    return { ...fromBridgeConfig(asNetConf(file, json)), dataDir };
  }
  return {};
}

/** A plugin of the file as the runtime hands it over: `name` and `cniVersion` injected. */
function asNetConf(file: NetworkConfigFile, plugin: JsonObject): NetConf {
  const version = file.cniVersion ?? new JsonReader(plugin).string("cniVersion") ?? "0.4.0";
  const raw = { ...plugin, name: file.name, cniVersion: version };
  const type = new JsonReader(plugin).requireString("type");
  return { name: file.name, type, cniVersion: isSpecVersion(version) ? version : "1.0.0", raw };
}

function dataDirOf(plugin: JsonObject): Found {
  const ipam = new JsonReader(plugin).child("ipam");
  if (ipam?.string("type") !== "host-local") return {};
  return { dataDir: ipam.string("dataDir") ?? HOST_LOCAL_DATA_DIR };
}

function fromBridgeConfig(netConf: NetConf): Found {
  const reader = new JsonReader(netConf.raw);
  const isGateway = reader.boolean("isGateway") === true || reader.boolean("isDefaultGateway") === true;
  const ipamType = reader.child("ipam")?.string("type");
  const hostLocal = ipamType === "host-local" ? parseHostLocalConfig(netConf) : undefined;
  const gateways =
    isGateway && hostLocal !== undefined
      ? hostLocal.rangeSets.flatMap((set) =>
          set.ranges.map((r) => `${formatAddress(r.address(r.gateway))}/${r.prefixLength}`),
        )
      : [];
  return {
    network: {
      network: netConf.name,
      bridge: reader.string("bridge") ?? DEFAULT_BRIDGE,
      mtu: reader.integer("mtu", 0) || undefined,
      gateways: [...new Set(gateways)],
      ipam: hostLocal === undefined ? undefined : { dataDir: hostLocal.dataDir, rangeSets: hostLocal.rangeSets },
    },
  };
}

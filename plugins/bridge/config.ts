// The bridge plugin's network configuration: the reference plugin's keys with its defaults, checked
// once here so that every error names the key at fault (code 7) before anything touches the node.

import { CniError, ErrorCode } from "../../cni/errors";
import { JsonReader, JsonShapeError } from "../../cni/json";
import { interfaceNameProblem, MAX_IFNAME_LENGTH } from "../../cni/validate";
import type { NetConf } from "../../cni/plugin";
import type { Dns } from "../../cni/result";
import type { MasqueradeBackendName } from "../../firewall/masquerade";
import { MAX_VLAN_ID, MIN_VLAN_ID } from "../../native/netlink/bridge-vlan";

export const DEFAULT_BRIDGE = "cni0";
const ETH_MIN_MTU = 68;
/** Those of firewall/masquerade.ts, listed here so that parsing a config does not load the module. */
const IP_MASQ_BACKENDS: readonly MasqueradeBackendName[] = ["iptables", "nftables"];

export interface BridgeConfig {
  /** The network's name (the config's `name`). */
  readonly network: string;
  readonly bridge: string;
  /** True as well when only isDefaultGateway was set, which implies it. */
  readonly isGateway: boolean;
  readonly isDefaultGateway: boolean;
  readonly forceAddress: boolean;
  readonly ipMasq: boolean;
  /** Undefined: the masquerade module picks (iptables unless only nftables works). */
  readonly ipMasqBackend: MasqueradeBackendName | undefined;
  /** Undefined: the kernel's default (the key's 0). */
  readonly mtu: number | undefined;
  readonly hairpinMode: boolean;
  readonly promiscMode: boolean;
  /** The port's access VLAN (PVID, untagged); 0 for none. */
  readonly vlan: number;
  /** Tagged VLANs of the port, sorted and without duplicates. */
  readonly vlanTrunk: readonly number[];
  readonly preserveDefaultVlan: boolean;
  readonly macSpoofCheck: boolean;
  readonly enableDad: boolean;
  readonly disableContainerInterface: boolean;
  readonly portIsolation: boolean;
  /** The IPAM plugin's type; undefined for an L2-only network (`"ipam": {}` or no ipam). */
  readonly ipamType: string | undefined;
  /** The `dns` key when any of its fields is set: it overrides the DNS that IPAM returns. */
  readonly dns: Dns | undefined;
  /** The container interface's MAC from args.cni.mac or runtimeConfig.mac (capability `mac`). */
  readonly mac: string | undefined;
}

/** Reads the configuration; `cniArgsMac` is CNI_ARGS `MAC=`, which the config's keys override. */
export function parseBridgeConfig(config: NetConf, cniArgsMac?: string): BridgeConfig {
  try {
    return parse(new JsonReader(config.raw), config.name, cniArgsMac);
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network config: ${error.message}`, "", {
        cause: error,
      });
    }
    throw error;
  }
}

function parse(reader: JsonReader, network: string, cniArgsMac: string | undefined): BridgeConfig {
  const bridge = reader.string("bridge") ?? DEFAULT_BRIDGE;
  checkLinkName("bridge", bridge);
  const isDefaultGateway = reader.boolean("isDefaultGateway") ?? false;
  const isGateway = (reader.boolean("isGateway") ?? false) || isDefaultGateway;
  const hairpinMode = reader.boolean("hairpinMode") ?? false;
  const promiscMode = reader.boolean("promiscMode") ?? false;
  if (hairpinMode && promiscMode) invalid("cannot set hairpin mode and promiscuous mode at the same time");

  const vlan = readVlan(reader);
  const vlanTrunk = readVlanTrunk(reader);
  if (isGateway && vlan !== 0) {
    // The gateway then lives on a "<bridge>.<vlan>" interface, whose name must fit too.
    checkLinkName("bridge and vlan (the gateway interface <bridge>.<vlan>)", `${bridge}.${vlan}`);
  }

  const ipamType = reader.child("ipam")?.string("type");
  const isLayer3 = ipamType !== undefined && ipamType !== "";
  const disableContainerInterface = reader.boolean("disableContainerInterface") ?? false;
  if (disableContainerInterface && isLayer3) invalid("cannot use IPAM when DisableContainerInterface flag is set");

  const mtu = reader.integer("mtu", 0, 65535) ?? 0;
  // The kernel refuses an Ethernet MTU below 68 (ETH_MIN_MTU) with EINVAL, which the reference reports as 999.
  if (mtu !== 0 && mtu < ETH_MIN_MTU)
    invalid(`invalid mtu ${mtu}`, `0 for the kernel's default, else at least ${ETH_MIN_MTU}`);
  const mac = reader.child("runtimeConfig")?.string("mac") || reader.child("args")?.child("cni")?.string("mac");
  const containerMac = mac || cniArgsMac || undefined;
  if (containerMac !== undefined) checkMac(containerMac, Boolean(mac));

  return {
    network,
    bridge,
    isGateway,
    isDefaultGateway,
    forceAddress: reader.boolean("forceAddress") ?? false,
    ipMasq: reader.boolean("ipMasq") ?? false,
    ipMasqBackend: readIpMasqBackend(reader),
    mtu: mtu === 0 ? undefined : mtu,
    hairpinMode,
    promiscMode,
    vlan,
    vlanTrunk,
    // The reference defaults this to true, whatever its README once said.
    preserveDefaultVlan: reader.boolean("preserveDefaultVlan") ?? true,
    macSpoofCheck: reader.boolean("macspoofchk") ?? false,
    enableDad: reader.boolean("enabledad") ?? false,
    disableContainerInterface,
    portIsolation: reader.boolean("portIsolation") ?? false,
    ipamType: isLayer3 ? ipamType : undefined,
    dns: readDns(reader.child("dns")),
    // Lower case, as the kernel (and the reference's result) writes MACs.
    mac: containerMac?.toLowerCase(),
  };
}

function readVlan(reader: JsonReader): number {
  const vlan = reader.raw("vlan");
  if (vlan === undefined) return 0;
  if (typeof vlan !== "number" || !Number.isInteger(vlan)) throw new JsonShapeError("vlan", "an integer", vlan);
  if (vlan < 0 || vlan > MAX_VLAN_ID) invalid(`invalid VLAN ID ${vlan} (must be between 0 and ${MAX_VLAN_ID})`);
  return vlan;
}

/** `[{id}, {minID, maxID}, ...]` as the reference reads it (its messages included). */
function readVlanTrunk(reader: JsonReader): number[] {
  const vids = new Set<number>();
  const inRange = (value: number): boolean => value >= MIN_VLAN_ID && value <= MAX_VLAN_ID;
  reader.array("vlanTrunk", (value, path) => {
    const item = new JsonReader(value, path);
    const minId = item.integer("minID");
    const maxId = item.integer("maxID");
    const id = item.integer("id");
    if (minId !== undefined && maxId !== undefined) {
      if (!inRange(minId)) invalid("incorrect trunk minID parameter", path);
      if (!inRange(maxId)) invalid("incorrect trunk maxID parameter", path);
      if (maxId < minId) invalid("minID is greater than maxID in trunk parameter", path);
      for (let vid = minId; vid <= maxId; vid++) vids.add(vid);
    } else if (maxId !== undefined) {
      invalid("minID and maxID should be configured simultaneously, minID is missing", path);
    } else if (minId !== undefined) {
      invalid("minID and maxID should be configured simultaneously, maxID is missing", path);
    }
    if (id !== undefined) {
      if (!inRange(id)) invalid("incorrect trunk id parameter", path);
      vids.add(id);
    }
  });
  return [...vids].sort((a, b) => a - b);
}

function readIpMasqBackend(reader: JsonReader): MasqueradeBackendName | undefined {
  const backend = reader.string("ipMasqBackend");
  if (backend === undefined) return undefined;
  const known = IP_MASQ_BACKENDS.find((name) => name === backend);
  if (known === undefined) {
    invalid(`unknown ipMasqBackend ${JSON.stringify(backend)}`, `supported backends: ${IP_MASQ_BACKENDS.join(", ")}`);
  }
  return known;
}

/** Like the reference's dnsConfSet: a field that is present counts, even an empty list. */
function readDns(reader: JsonReader | undefined): Dns | undefined {
  if (reader === undefined) return undefined;
  const dns: { -readonly [K in keyof Dns]: Dns[K] } = {};
  const nameservers = reader.stringArray("nameservers");
  const domain = reader.string("domain");
  const search = reader.stringArray("search");
  const options = reader.stringArray("options");
  if (nameservers !== undefined) dns.nameservers = nameservers;
  if (domain !== undefined && domain !== "") dns.domain = domain;
  if (search !== undefined) dns.search = search;
  if (options !== undefined) dns.options = options;
  return Object.keys(dns).length > 0 ? dns : undefined;
}

function checkLinkName(key: string, name: string): void {
  if (interfaceNameProblem(name) !== undefined) {
    invalid(
      `invalid ${key}: ${JSON.stringify(name)} is not a valid interface name`,
      `at most ${MAX_IFNAME_LENGTH} bytes, not "." or "..", without "/", ":", "%" or whitespace`,
    );
  }
}

/** A bad MAC from the config is code 7; from CNI_ARGS MAC, like every CNI_ARGS problem, code 4. */
function checkMac(mac: string, fromConfig: boolean): void {
  const match = /^([0-9a-f]{2})(:[0-9a-f]{2}){5}$/i.exec(mac);
  // The kernel refuses multicast addresses (low bit of the first octet) for an Ethernet device.
  if (match === null || (Number.parseInt(match[1] ?? "", 16) & 1) !== 0) {
    throw new CniError(
      fromConfig ? ErrorCode.InvalidNetworkConfig : ErrorCode.InvalidEnvironment,
      `invalid MAC address ${JSON.stringify(mac)}`,
      `from ${fromConfig ? "args.cni.mac or runtimeConfig.mac" : "CNI_ARGS MAC"}: six colon-separated hex octets, unicast`,
    );
  }
}

function invalid(message: string, details = ""): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, message, details);
}

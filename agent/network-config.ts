// The overlay's network configuration, in flannel's net-conf.json format (the file given to the agent,
// or etcd's `<prefix>/config`), after defaults were filled and validation passed.

import { JsonReader, JsonShapeError } from "../cni/json";
import {
  addressFamily,
  canonicalAddress,
  compareAddresses,
  formatIpNet,
  isAligned,
  lastSubnetAddress,
  netContains,
  offsetAddress,
  parseIpNet,
  type IpFamily,
  type IpNet,
} from "./ip-net";

export interface VxlanBackendConfig {
  readonly type: "vxlan";
  /** VNI (default 1). */
  readonly vni: number;
  /** UDP port (default 8472, flannel's, not IANA's 4789). */
  readonly port: number;
  /**
   * The MTU to assume for the underlay instead of its interface's (flannel's Backend.MTU): the
   * device gets it minus the encapsulation overhead. Undefined: the underlay interface's MTU.
   */
  readonly mtu: number | undefined;
  readonly gbp: boolean;
  readonly learning: boolean;
  /** Plain routes instead of VXLAN to peers on the same L2 segment. */
  readonly directRouting: boolean;
}

export interface NetworkConfig {
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  /** The cluster's IPv4 pod network, e.g. "10.244.0.0/16" (set when enableIPv4). */
  readonly network: string | undefined;
  /** Prefix length of one node's subnet (default 24 for networks of /22 or larger). */
  readonly subnetLen: number;
  /** First and last subnet a node may lease, e.g. "10.244.1.0" and "10.244.255.0". */
  readonly subnetMin: string | undefined;
  readonly subnetMax: string | undefined;
  readonly ipv6Network: string | undefined;
  readonly ipv6SubnetLen: number;
  readonly ipv6SubnetMin: string | undefined;
  readonly ipv6SubnetMax: string | undefined;
  readonly backend: VxlanBackendConfig;
}

// Parsing: flannel's pkg/subnet ParseConfig + CheckNetworkConfig (defaults, then validation), plus
// the vxlan backend's own keys. Unknown keys are ignored, as Go's JSON decoder ignores them.

/** A net-conf.json that cannot be used; `key` names the offending key (e.g. "Backend.VNI"). */
export class NetworkConfigError extends Error {
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`${key}: ${message}`, options);
    this.name = "NetworkConfigError";
    this.key = key;
  }
}

const DEFAULT_VNI = 1;
/** The kernel's default VXLAN port, which flannel relies on by not setting one. */
const DEFAULT_VXLAN_PORT = 8472;
const MAX_VNI = 0xffffff;

/** Parses net-conf.json text (a file's content, or etcd's `<prefix>/config`). */
export function parseNetworkConfigText(text: string): NetworkConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new NetworkConfigError("(root)", `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseNetworkConfig(json);
}

/** Validates a decoded net-conf.json and fills flannel's defaults. */
export function parseNetworkConfig(json: unknown): NetworkConfig {
  try {
    return readNetworkConfig(new JsonReader(json));
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) {
      // The shape error's message already starts with its path.
      throw new NetworkConfigError(error.path, error.message.slice(error.path.length + 2), { cause: error });
    }
    throw error;
  }
}

function readNetworkConfig(reader: JsonReader): NetworkConfig {
  const enableIPv4 = reader.boolean("EnableIPv4") ?? true;
  const enableIPv6 = reader.boolean("EnableIPv6") ?? false;
  if (!enableIPv4 && !enableIPv6) {
    throw new NetworkConfigError("EnableIPv4", "EnableIPv4 and EnableIPv6 are both false: no network to lease from");
  }
  const v4 = enableIPv4 ? readFamily(reader, IPV4_KEYS) : undefined;
  const v6 = enableIPv6 ? readFamily(reader, IPV6_KEYS) : undefined;
  return {
    enableIPv4,
    enableIPv6,
    network: v4?.network,
    subnetLen: v4?.subnetLen ?? 0,
    subnetMin: v4?.subnetMin,
    subnetMax: v4?.subnetMax,
    ipv6Network: v6?.network,
    ipv6SubnetLen: v6?.subnetLen ?? 0,
    ipv6SubnetMin: v6?.subnetMin,
    ipv6SubnetMax: v6?.subnetMax,
    backend: readBackend(reader.child("Backend")),
  };
}

interface FamilyKeys {
  readonly family: IpFamily;
  readonly network: string;
  readonly subnetLen: string;
  readonly subnetMin: string;
  readonly subnetMax: string;
  /** Longest subnet flannel allows (room for the VXLAN and bridge addresses). */
  readonly maxSubnetLen: number;
  /** Subnet length given to a large enough network by default. */
  readonly defaultSubnetLen: number;
  /** The unspecified address, which Go's zero value makes mean "not set". */
  readonly unset: string;
}

const IPV4_KEYS: FamilyKeys = {
  family: 4,
  network: "Network",
  subnetLen: "SubnetLen",
  subnetMin: "SubnetMin",
  subnetMax: "SubnetMax",
  maxSubnetLen: 30,
  defaultSubnetLen: 24,
  unset: "0.0.0.0",
};

const IPV6_KEYS: FamilyKeys = {
  family: 6,
  network: "IPv6Network",
  subnetLen: "IPv6SubnetLen",
  subnetMin: "IPv6SubnetMin",
  subnetMax: "IPv6SubnetMax",
  maxSubnetLen: 126,
  defaultSubnetLen: 64,
  unset: "::",
};

interface FamilyPlan {
  readonly network: string;
  readonly subnetLen: number;
  readonly subnetMin: string;
  readonly subnetMax: string;
}

function readFamily(reader: JsonReader, keys: FamilyKeys): FamilyPlan {
  const text = reader.string(keys.network);
  const network = text === undefined ? undefined : parseIpNet(text);
  if (network === undefined || network.family !== keys.family) {
    throw new NetworkConfigError(
      keys.network,
      `expected an IPv${keys.family} CIDR such as ${example(keys)}, got ${JSON.stringify(text ?? null)}`,
    );
  }
  // A subnet needs at least four addresses, and the network at least four subnets: the first one
  // is skipped by default, so two would leave a single usable subnet.
  const smallest = keys.maxSubnetLen - 2;
  let subnetLen = reader.integer(keys.subnetLen, 0, keys.family === 4 ? 32 : 128) ?? 0;
  if (subnetLen === 0) {
    if (network.prefixLength > smallest) {
      throw new NetworkConfigError(keys.network, `network is too small: the minimum useful prefix is /${smallest}`);
    }
    subnetLen = network.prefixLength <= keys.defaultSubnetLen - 2 ? keys.defaultSubnetLen : network.prefixLength + 2;
  } else if (subnetLen > keys.maxSubnetLen) {
    throw new NetworkConfigError(keys.subnetLen, `must be at most ${keys.maxSubnetLen}, got ${subnetLen}`);
  } else if (subnetLen < network.prefixLength + 2) {
    throw new NetworkConfigError(
      keys.subnetLen,
      `must be at least ${network.prefixLength + 2} so that ${formatIpNet(network)} holds four subnets, got ${subnetLen}`,
    );
  }
  // Defaults: skip the first subnet (its network address would clash with the network's own),
  // and stop at the last one.
  const subnetMin =
    readBoundary(reader, keys, keys.subnetMin, network, subnetLen) ?? offsetAddress(network.address, subnetLen, 1);
  const subnetMax =
    readBoundary(reader, keys, keys.subnetMax, network, subnetLen) ?? lastSubnetAddress(network, subnetLen);
  if (compareAddresses(subnetMin, subnetMax) > 0) {
    throw new NetworkConfigError(keys.subnetMin, `${subnetMin} is above ${keys.subnetMax} ${subnetMax}`);
  }
  return { network: formatIpNet(network), subnetLen, subnetMin, subnetMax };
}

function readBoundary(
  reader: JsonReader,
  keys: FamilyKeys,
  key: string,
  network: IpNet,
  subnetLen: number,
): string | undefined {
  const text = reader.string(key);
  if (text === undefined) return undefined;
  if (addressFamily(text) !== keys.family) {
    throw new NetworkConfigError(key, `expected an IPv${keys.family} address, got ${JSON.stringify(text)}`);
  }
  const address = canonicalAddress(text) ?? text;
  if (address === keys.unset) return undefined;
  if (!netContains(network, address)) {
    throw new NetworkConfigError(key, `${address} is not in the range of ${keys.network} ${formatIpNet(network)}`);
  }
  if (!isAligned(address, subnetLen)) {
    throw new NetworkConfigError(key, `${address} is not on a /${subnetLen} boundary (${keys.subnetLen})`);
  }
  return address;
}

function example(keys: FamilyKeys): string {
  return keys.family === 4 ? "10.244.0.0/16" : "fd00:10:244::/56";
}

function readBackend(reader: JsonReader | undefined): VxlanBackendConfig {
  // flanneld without a Backend object runs its "udp" backend, though its documentation names
  // vxlan as the default; vxlan is the only backend here, so it is the default.
  const type = reader?.string("Type") ?? "vxlan";
  if (type !== "vxlan") {
    throw new NetworkConfigError(
      "Backend.Type",
      `unsupported backend ${JSON.stringify(type)}: only "vxlan" is supported`,
    );
  }
  const mtu = reader?.integer("MTU", 0, 65535) ?? 0;
  if (mtu !== 0 && mtu < 68) throw new NetworkConfigError("Backend.MTU", `must be at least 68, got ${mtu}`);
  return {
    type,
    vni: reader?.integer("VNI", 0, MAX_VNI) ?? DEFAULT_VNI,
    // Port 0 is flannel's "let the kernel choose", which is 8472.
    port: reader?.integer("Port", 0, 65535) || DEFAULT_VXLAN_PORT,
    mtu: mtu === 0 ? undefined : mtu,
    gbp: reader?.boolean("GBP") ?? false,
    learning: reader?.boolean("Learning") ?? false,
    directRouting: reader?.boolean("DirectRouting") ?? false,
  };
}

// subnet.env, the file flanneld (or our agent) writes once it holds this node's lease, read exactly
// as the upstream flannel CNI plugin reads it (`loadFlannelSubnetEnv`): the file format is the
// contract between the node daemon and the plugin.
//
//   FLANNEL_NETWORK=10.244.0.0/16            one or more, comma-separated, duplicates dropped
//   FLANNEL_SUBNET=10.244.1.1/24             this node's lease; read as its network, 10.244.1.0/24
//   FLANNEL_IPV6_NETWORK=fd00:10:244::/56    IPv6 counterparts, when the cluster has IPv6
//   FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
//   FLANNEL_MTU=1450
//   FLANNEL_IPMASQ=true                      exactly "true" means true; anything else false
//
// Lines are KEY=VALUE with no quoting, comments or whitespace trimming; unknown keys are ignored and
// a repeated key's last line wins. A network (v4 or v6), a subnet (v4 or v6), the MTU and IPMASQ
// are required.

import { networkOf, parseGoCidr } from "./go-net";

export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";

export interface SubnetEnv {
  /** FLANNEL_NETWORK: the cluster's IPv4 networks, normalised, in file order. */
  readonly networks: readonly string[];
  /** FLANNEL_SUBNET as its network ("10.244.1.0/24"). */
  readonly subnet: string | undefined;
  readonly ipv6Networks: readonly string[];
  readonly ipv6Subnet: string | undefined;
  readonly mtu: number;
  /** Whether the node daemon masquerades pod traffic itself. */
  readonly ipMasq: boolean;
}

/** Why subnet.env could not be used; `missing` is the node daemon not having written it (yet). */
export type SubnetEnvProblem = "missing" | "unreadable" | "invalid" | "incomplete";

export class SubnetEnvError extends Error {
  readonly problem: SubnetEnvProblem;

  constructor(problem: SubnetEnvProblem, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SubnetEnvError";
    this.problem = problem;
  }
}

const MAX_MTU = 0xffff_ffff;

/** Reads and parses the file; errors read like Go's ("open <path>: no such file or directory"). */
export async function loadSubnetEnv(path: string): Promise<SubnetEnv> {
  const { readFileSync } = await import("node:fs");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error: unknown) {
    const code = (error as { code?: unknown }).code;
    const problem = code === "ENOENT" || code === "ENOTDIR" ? "missing" : "unreadable";
    throw new SubnetEnvError(problem, describeSystemError(error, path), { cause: error });
  }
  return parseSubnetEnv(text, path);
}

export function parseSubnetEnv(text: string, fileName: string): SubnetEnv {
  let networks: string[] | undefined;
  let subnet: string | undefined;
  let ipv6Networks: string[] | undefined;
  let ipv6Subnet: string | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;

  // Go's bufio.ScanLines: split on "\n", drop one trailing "\r". Every occurrence of a key is
  // parsed, the last one kept.
  for (const [index, line] of text
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .entries()) {
    const equals = line.indexOf("=");
    const key = equals === -1 ? line : line.slice(0, equals);
    const value = line.slice(equals + 1);
    const where = `${fileName} line ${index + 1}`;
    if (!KEYS.has(key)) continue;
    if (equals === -1) throw new SubnetEnvError("invalid", `${where}: ${key} has no "="`);
    switch (key) {
      case "FLANNEL_NETWORK":
        networks = parseNetworkList(value, key, where);
        break;
      case "FLANNEL_SUBNET":
        subnet = parseNetwork(value, key, where);
        break;
      case "FLANNEL_IPV6_NETWORK":
        ipv6Networks = parseNetworkList(value, key, where);
        break;
      case "FLANNEL_IPV6_SUBNET":
        ipv6Subnet = parseNetwork(value, key, where);
        break;
      case "FLANNEL_MTU":
        // strconv.ParseUint(value, 10, 32): decimal digits only, leading zeros allowed.
        mtu = /^\d+$/.test(value) ? Number(value) : NaN;
        if (!(mtu <= MAX_MTU)) throw new SubnetEnvError("invalid", `${where}: invalid ${key} ${JSON.stringify(value)}`);
        break;
      case "FLANNEL_IPMASQ":
        ipMasq = value === "true";
        break;
    }
  }

  const missing = [
    ...(networks === undefined && ipv6Networks === undefined ? ["FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"] : []),
    ...(subnet === undefined && ipv6Subnet === undefined ? ["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"] : []),
    ...(mtu === undefined ? ["FLANNEL_MTU"] : []),
    ...(ipMasq === undefined ? ["FLANNEL_IPMASQ"] : []),
  ];
  if (mtu === undefined || ipMasq === undefined || missing.length > 0) {
    throw new SubnetEnvError("incomplete", `${fileName} is missing ${missing.join(", ")}`);
  }
  return { networks: networks ?? [], subnet, ipv6Networks: ipv6Networks ?? [], ipv6Subnet, mtu, ipMasq };
}

const KEYS: ReadonlySet<string> = new Set([
  "FLANNEL_NETWORK",
  "FLANNEL_SUBNET",
  "FLANNEL_IPV6_NETWORK",
  "FLANNEL_IPV6_SUBNET",
  "FLANNEL_MTU",
  "FLANNEL_IPMASQ",
]);

/** "a,b,c": each parsed to its network; a network listed twice is kept once. */
function parseNetworkList(value: string, key: string, where: string): string[] {
  const networks: string[] = [];
  for (const item of value.split(",")) {
    const network = parseNetwork(item, key, where);
    if (!networks.includes(network)) networks.push(network);
  }
  return networks;
}

/** A CIDR as Go's net.ParseCIDR reads it, as its network ("10.244.1.1/24" gives "10.244.1.0/24"). */
function parseNetwork(text: string, key: string, where: string): string {
  try {
    return networkOf(parseGoCidr(text));
  } catch (error: unknown) {
    throw new SubnetEnvError("invalid", `${where}: invalid ${key} ${JSON.stringify(text)}`, { cause: error });
  }
}

// strerror(3) as Go prints it, for the errors reading a file can meet.
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  EIO: "input/output error",
};

/** A system error as Go's os package words it: "open /run/flannel/subnet.env: no such file or directory". */
function describeSystemError(error: unknown, path: string): string {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  const reason =
    typeof code === "string" ? (STRERROR[code] ?? code) : error instanceof Error ? error.message : String(error);
  return `${typeof syscall === "string" ? syscall : "open"} ${path}: ${reason}`;
}

// flannel's on-store formats, shared by every lease store: the key names the subnets
// ("10.244.1.0-24", dual stack "10.244.1.0-24&fd00:10:244:1::-64") and the value is the JSON of
// flannel's LeaseAttrs, byte for byte what flanneld writes, so both agents can share one store.

import { JsonReader, JsonShapeError } from "../../cni/json";
import { addressFamily, canonicalAddress, formatIpNet, parseIpNet, type IpFamily } from "../ip-net";
import type { LeaseAttrs, LeaseSubnets, VxlanBackendData } from "../lease";

/**
 * The store key of a set of subnets (flannel's MakeSubnetKey; IPv6 alone is our extension). Throws
 * RangeError unless each subnet is a network address of its family.
 */
export function leaseKey(subnets: LeaseSubnets): string {
  const parts = [keyPart(subnets.subnet, 4), keyPart(subnets.ipv6Subnet, 6)].filter((p) => p !== undefined);
  if (parts.length === 0) throw new RangeError("a lease needs an IPv4 or an IPv6 subnet");
  return parts.join("&");
}

function keyPart(cidr: string | undefined, family: IpFamily): string | undefined {
  if (cidr === undefined) return undefined;
  const net = parseIpNet(cidr);
  if (net?.family !== family || net.address !== canonicalAddress(cidr.slice(0, cidr.indexOf("/")))) {
    throw new RangeError(`${JSON.stringify(cidr)} is not an IPv${family} subnet in network form`);
  }
  return `${net.address}-${net.prefixLength}`;
}

/**
 * The subnets a key names, or undefined when it is not a canonical lease key (flannel's
 * ParseSubnetKey, stricter: host bits and non-canonical addresses are refused, so each subnet has
 * exactly one key).
 */
export function parseLeaseKey(key: string): LeaseSubnets | undefined {
  const parts = key.split("&");
  if (parts.length > 2) return undefined;
  const [first, second] = parts.map(parseKeyPart);
  if (first === undefined) return undefined;
  if (parts.length === 1) return first.family === 4 ? { subnet: first.cidr } : { ipv6Subnet: first.cidr };
  if (first.family !== 4 || second?.family !== 6) return undefined;
  return { subnet: first.cidr, ipv6Subnet: second.cidr };
}

/** The subnets of a key that must be a lease key (it names a file or an etcd key); RangeError if not. */
export function subnetsOfKey(key: string): LeaseSubnets {
  const subnets = parseLeaseKey(key);
  if (subnets === undefined) throw new RangeError(`${JSON.stringify(key)} is not a lease key`);
  return subnets;
}

function parseKeyPart(part: string): { family: IpFamily; cidr: string } | undefined {
  const dash = part.lastIndexOf("-");
  if (dash === -1) return undefined;
  const net = parseIpNet(`${part.slice(0, dash)}/${part.slice(dash + 1)}`);
  if (net === undefined || `${net.address}-${net.prefixLength}` !== part) return undefined;
  return { family: net.family, cidr: formatIpNet(net) };
}

/** flannel's JSON value of a lease, with its keys in Go's field order. */
export function encodeLeaseAttrs(attrs: LeaseAttrs): Record<string, unknown> {
  const value: Record<string, unknown> = {
    PublicIP: attrs.publicIp,
    // Go marshals the nil *ip.IP6 of an IPv4-only node as null (the field has no omitempty).
    PublicIPv6: attrs.publicIpv6 ?? null,
    BackendType: attrs.backendType,
  };
  if (attrs.backendData !== undefined) value["BackendData"] = encodeBackendData(attrs.backendData);
  if (attrs.backendV6Data !== undefined) value["BackendV6Data"] = encodeBackendData(attrs.backendV6Data);
  return value;
}

function encodeBackendData(data: VxlanBackendData): Record<string, unknown> {
  return { VNI: data.vni, VtepMAC: data.vtepMac };
}

/** Decodes flannel's JSON value; throws JsonShapeError naming the bad field. */
export function decodeLeaseAttrs(json: unknown): LeaseAttrs {
  const reader = new JsonReader(json);
  const publicIp = readAddress(reader, "PublicIP", 4);
  if (publicIp === undefined) throw new JsonShapeError("PublicIP", "an IPv4 address", undefined);
  const backendType = reader.string("BackendType");
  if (backendType !== "vxlan") throw new JsonShapeError("BackendType", 'the string "vxlan"', backendType);
  const publicIpv6 = readAddress(reader, "PublicIPv6", 6);
  const backendData = readBackendData(reader.child("BackendData"));
  const backendV6Data = readBackendData(reader.child("BackendV6Data"));
  return {
    publicIp,
    backendType,
    ...(publicIpv6 === undefined ? {} : { publicIpv6 }),
    ...(backendData === undefined ? {} : { backendData }),
    ...(backendV6Data === undefined ? {} : { backendV6Data }),
  };
}

function readAddress(reader: JsonReader, key: string, family: IpFamily): string | undefined {
  const text = reader.string(key);
  if (text === undefined) return undefined;
  if (addressFamily(text) !== family) throw new JsonShapeError(key, `an IPv${family} address`, text);
  return canonicalAddress(text);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function readBackendData(reader: JsonReader | undefined): VxlanBackendData | undefined {
  if (reader === undefined) return undefined;
  const vni = reader.integer("VNI", 0, 0xffffff);
  const vtepMac = reader.string("VtepMAC");
  if (vni === undefined) throw new JsonShapeError(`${reader.path}.VNI`, "an integer", undefined);
  if (vtepMac === undefined || !MAC.test(vtepMac)) {
    throw new JsonShapeError(`${reader.path}.VtepMAC`, "a MAC address", vtepMac);
  }
  return { vni, vtepMac: vtepMac.toLowerCase() };
}

/**
 * True when two attribute sets come from the same node. flannel identifies a node by PublicIP; a
 * node without IPv4 (PublicIP 0.0.0.0, as Go writes the zero address) by PublicIPv6.
 */
export function isSameNode(a: LeaseAttrs, b: LeaseAttrs): boolean {
  if (a.publicIp !== b.publicIp) return false;
  return a.publicIp !== "0.0.0.0" || a.publicIpv6 === b.publicIpv6;
}

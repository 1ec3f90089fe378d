// Interface addresses: the RTM_*ADDR encodings and what a dump reports.

import { Address4 } from "ip-address";

import { IFA_ADDRESS, IFA_BROADCAST, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, RT_SCOPE_UNIVERSE } from "./constants";
import { familyNumber, type IpFamily, ipFamilyOf, ipToBytes, parseCidr } from "./ip";
import { attr, type Attribute, Attributes, NetlinkDecodeError } from "./wire";

export interface Address {
  readonly linkIndex: number;
  readonly family: IpFamily;
  /** The interface's own address (IFA_LOCAL, or IFA_ADDRESS where there is no local). */
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: number;
  /** IFA_F_* flags, from IFA_FLAGS when present (it carries the bits above 8). */
  readonly flags: number;
  readonly label: string | undefined;
  readonly broadcast: string | undefined;
  /** For point-to-point addresses, the peer (IFA_ADDRESS differs from IFA_LOCAL). */
  readonly peer: string | undefined;
}

export interface AddressSpec {
  /** "address/prefix", e.g. "10.22.0.1/24" or "fd00::1/64". */
  readonly cidr: string;
  readonly scope?: number;
  /** IFA_F_* flags to set, such as IFA_F_NODAD or IFA_F_NOPREFIXROUTE. */
  readonly flags?: number;
  readonly label?: string;
  /**
   * IPv4 broadcast address. Left undefined, it is derived from the prefix (as iproute2's "brd +"
   * and the reference plugins do) for prefixes shorter than /31; `null` sets none.
   */
  readonly broadcast?: string | null;
}

export const IFADDRMSG_LENGTH = 8;

export function encodeIfAddr(
  family: number,
  prefixLength: number,
  flags: number,
  scope: number,
  index: number,
): Uint8Array {
  const out = new Uint8Array(IFADDRMSG_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, family);
  view.setUint8(1, prefixLength);
  view.setUint8(2, flags & 0xff);
  view.setUint8(3, scope);
  view.setUint32(4, index, true);
  return out;
}

/** The ifaddrmsg body and attributes of an address to add, replace or delete on a link. */
export function addressRequest(linkIndex: number, spec: AddressSpec): { body: Uint8Array; attributes: Attribute[] } {
  const cidr = parseCidr(spec.cidr);
  const bytes = ipToBytes(cidr.address);
  const flags = spec.flags ?? 0;
  const attributes: Attribute[] = [attr.bytes(IFA_LOCAL, bytes), attr.bytes(IFA_ADDRESS, bytes)];
  if (flags > 0xff) attributes.push(attr.u32(IFA_FLAGS, flags));
  if (spec.label !== undefined) attributes.push(attr.string(IFA_LABEL, spec.label));
  if (cidr.family === 4 && spec.broadcast !== null) {
    const broadcast =
      spec.broadcast ?? (cidr.prefixLength < 31 ? new Address4(spec.cidr).endAddress().correctForm() : undefined);
    if (broadcast !== undefined) attributes.push(attr.bytes(IFA_BROADCAST, ipToBytes(broadcast)));
  }
  const body = encodeIfAddr(
    familyNumber(cidr.family),
    cidr.prefixLength,
    flags,
    spec.scope ?? RT_SCOPE_UNIVERSE,
    linkIndex,
  );
  return { body, attributes };
}

/** Decodes an RTM_NEWADDR of an IP family (callers skip other families, which dumps may carry). */
export function decodeAddress(payload: Uint8Array): Address {
  if (payload.length < IFADDRMSG_LENGTH) throw new NetlinkDecodeError(`ifaddrmsg of ${payload.length} bytes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = ipFamilyOf(view.getUint8(0));
  if (family === undefined) throw new NetlinkDecodeError(`address of family ${view.getUint8(0)}`);
  const attributes = Attributes.decode(payload.subarray(IFADDRMSG_LENGTH));
  const local = attributes.ip(IFA_LOCAL, family);
  const address = attributes.ip(IFA_ADDRESS, family);
  const own = local ?? address;
  if (own === undefined) throw new NetlinkDecodeError("address message without IFA_LOCAL or IFA_ADDRESS");
  return {
    linkIndex: view.getUint32(4, true),
    family,
    address: own,
    prefixLength: view.getUint8(1),
    scope: view.getUint8(3),
    flags: attributes.u32(IFA_FLAGS) ?? view.getUint8(2),
    label: attributes.string(IFA_LABEL),
    broadcast: attributes.ip(IFA_BROADCAST, family),
    peer: local !== undefined && address !== undefined && local !== address ? address : undefined,
  };
}

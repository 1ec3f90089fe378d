// The netlink wire format: message headers, attributes (TLVs) and their nesting. Pure functions
// over bytes; nothing here touches a socket. Netlink uses the host's byte order, which is little
// endian on every platform this suite targets (checked once at start-up below).

import { bytesToIp, type IpFamily } from "./ip";

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("the netlink codec assumes a little-endian host");
}

export const align4 = (length: number): number => (length + 3) & ~3;

export interface MessageHeader {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

export interface Message extends MessageHeader {
  /** The payload after the 16-byte header (a fixed struct, then attributes). */
  readonly payload: Uint8Array;
}

/** One attribute to encode: a leaf with raw bytes, or a nest of attributes. */
export type Attribute =
  | { readonly type: number; readonly data: Uint8Array }
  | { readonly type: number; readonly nested: readonly Attribute[] };

// ---------------------------------------------------------------------------------------------
// Attribute constructors

export const attr = {
  bytes: (type: number, data: Uint8Array): Attribute => ({ type, data }),
  u8: (type: number, value: number): Attribute => ({ type, data: Uint8Array.of(value) }),
  u16: (type: number, value: number): Attribute => ({ type, data: fixed(2, (v) => v.setUint16(0, value, true)) }),
  /** Network byte order, as used by ports (IFLA_VXLAN_PORT). */
  u16be: (type: number, value: number): Attribute => ({ type, data: fixed(2, (v) => v.setUint16(0, value, false)) }),
  u32: (type: number, value: number): Attribute => ({ type, data: fixed(4, (v) => v.setUint32(0, value, true)) }),
  i32: (type: number, value: number): Attribute => ({ type, data: fixed(4, (v) => v.setInt32(0, value, true)) }),
  /** A NUL-terminated string, as the kernel expects for names. */
  string: (type: number, value: string): Attribute => ({ type, data: new TextEncoder().encode(`${value}\0`) }),
  flag: (type: number): Attribute => ({ type, data: new Uint8Array(0) }),
  nest: (type: number, nested: readonly Attribute[]): Attribute => ({ type: type | NLA_F_NESTED, nested }),
} as const;

function fixed(size: number, write: (view: DataView) => void): Uint8Array {
  const data = new Uint8Array(size);
  write(new DataView(data.buffer));
  return data;
}

export function attributesLength(attributes: readonly Attribute[]): number {
  let length = 0;
  for (const a of attributes) length += align4(NLA_HDRLEN + attributeDataLength(a));
  return length;
}

function attributeDataLength(a: Attribute): number {
  return "nested" in a ? attributesLength(a.nested) : a.data.length;
}

/** Writes attributes at `offset`, returning the offset after the last one (padded). */
export function writeAttributes(target: Uint8Array, offset: number, attributes: readonly Attribute[]): number {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  for (const a of attributes) {
    const length = NLA_HDRLEN + attributeDataLength(a);
    view.setUint16(offset, length, true);
    view.setUint16(offset + 2, a.type, true);
    if ("nested" in a) writeAttributes(target, offset + NLA_HDRLEN, a.nested);
    else target.set(a.data, offset + NLA_HDRLEN);
    offset += align4(length);
  }
  return offset;
}

export function encodeAttributes(attributes: readonly Attribute[]): Uint8Array {
  const out = new Uint8Array(attributesLength(attributes));
  writeAttributes(out, 0, attributes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Encodes one message: header, the fixed-size family struct, then attributes. */
export function encodeMessage(
  header: MessageHeader,
  body: Uint8Array,
  attributes: readonly Attribute[] = [],
): Uint8Array {
  const bodyLength = align4(body.length);
  const length = NLMSG_HDRLEN + bodyLength + attributesLength(attributes);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint16(4, header.type, true);
  view.setUint16(6, header.flags, true);
  view.setUint32(8, header.seq, true);
  view.setUint32(12, header.pid, true);
  out.set(body, NLMSG_HDRLEN);
  writeAttributes(out, NLMSG_HDRLEN + bodyLength, attributes);
  return out;
}

export class NetlinkDecodeError extends Error {
  constructor(message: string) {
    super(`malformed netlink data: ${message}`);
    this.name = "NetlinkDecodeError";
  }
}

/** Splits one received datagram into its messages. */
export function decodeMessages(datagram: Uint8Array): Message[] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const messages: Message[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = view.getUint32(offset, true);
    if (length < NLMSG_HDRLEN || offset + length > datagram.length) {
      throw new NetlinkDecodeError(`message length ${length} at offset ${offset} of ${datagram.length}`);
    }
    messages.push({
      type: view.getUint16(offset + 4, true),
      flags: view.getUint16(offset + 6, true),
      seq: view.getUint32(offset + 8, true),
      pid: view.getUint32(offset + 12, true),
      payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  if (offset < datagram.length) {
    throw new NetlinkDecodeError(`${datagram.length - offset} bytes after the last message`);
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------
// Attribute decoding

/** Read access to a decoded attribute list. Types are compared without the NESTED/BYTEORDER bits. */
export class Attributes {
  private readonly bytesView: Uint8Array;
  // Where each attribute's data lies, by index: subarrays are made only for the attributes read
  // (a link message carries about fifty, of which a decoder reads a dozen).
  private readonly types: readonly number[];
  private readonly starts: readonly number[];
  private readonly ends: readonly number[];

  private constructor(bytes: Uint8Array, types: number[], starts: number[], ends: number[]) {
    this.bytesView = bytes;
    this.types = types;
    this.starts = starts;
    this.ends = ends;
  }

  static decode(bytes: Uint8Array): Attributes {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const types: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let offset = 0;
    while (offset + NLA_HDRLEN <= bytes.length) {
      const length = view.getUint16(offset, true);
      if (length < NLA_HDRLEN || offset + length > bytes.length) {
        throw new NetlinkDecodeError(`attribute length ${length} at offset ${offset} of ${bytes.length}`);
      }
      types.push(view.getUint16(offset + 2, true) & NLA_TYPE_MASK);
      starts.push(offset + NLA_HDRLEN);
      ends.push(offset + length);
      offset += align4(length);
    }
    if (offset < bytes.length) {
      throw new NetlinkDecodeError(`${bytes.length - offset} bytes after the last attribute`);
    }
    return new Attributes(bytes, types, starts, ends);
  }

  /** The last attribute of this type (the kernel never repeats the ones read this way). */
  bytes(type: number): Uint8Array | undefined {
    const i = this.types.lastIndexOf(type);
    return i === -1 ? undefined : this.data(i);
  }

  /** Every attribute of this type, in order (for lists such as multipath next hops). */
  all(type: number): Uint8Array[] {
    const found: Uint8Array[] = [];
    for (let i = 0; i < this.types.length; i++) if (this.types[i] === type) found.push(this.data(i));
    return found;
  }

  has(type: number): boolean {
    return this.types.includes(type);
  }

  u8(type: number): number | undefined {
    const data = this.bytes(type);
    return data !== undefined && data.length >= 1 ? data[0] : undefined;
  }

  u16(type: number): number | undefined {
    const data = this.bytes(type);
    return data !== undefined && data.length >= 2 ? view(data).getUint16(0, true) : undefined;
  }

  u16be(type: number): number | undefined {
    const data = this.bytes(type);
    return data !== undefined && data.length >= 2 ? view(data).getUint16(0, false) : undefined;
  }

  u32(type: number): number | undefined {
    const data = this.bytes(type);
    return data !== undefined && data.length >= 4 ? view(data).getUint32(0, true) : undefined;
  }

  i32(type: number): number | undefined {
    const data = this.bytes(type);
    return data !== undefined && data.length >= 4 ? view(data).getInt32(0, true) : undefined;
  }

  /** A NUL-terminated string attribute, without its terminator. */
  string(type: number): string | undefined {
    const data = this.bytes(type);
    if (data === undefined) return undefined;
    const end = data.indexOf(0);
    return UTF8.decode(end === -1 ? data : data.subarray(0, end));
  }

  /** An address attribute (4 or 16 bytes, or exactly the family's size when one is given). */
  ip(type: number, family?: IpFamily): string | undefined {
    const data = this.bytes(type);
    if (data === undefined) return undefined;
    const expected = family === undefined ? [4, 16] : [family === 4 ? 4 : 16];
    if (!expected.includes(data.length)) {
      throw new NetlinkDecodeError(`address attribute ${type} of ${data.length} bytes`);
    }
    return bytesToIp(data);
  }

  nested(type: number): Attributes | undefined {
    const data = this.bytes(type);
    return data === undefined ? undefined : Attributes.decode(data);
  }

  private data(index: number): Uint8Array {
    return this.bytesView.subarray(this.starts[index], this.ends[index]);
  }
}

const UTF8 = new TextDecoder();

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

// Golden bytes are written by hand as commented hex, field by field from the kernel's structs, so
// that they check the codec against the ABI rather than against itself.

/** Bytes from hex text; whitespace is ignored and `#` starts a comment that runs to the line's end. */
export function hex(strings: TemplateStringsArray): Uint8Array {
  const text = strings.raw.join("").replace(/#.*$/gm, "").replace(/\s+/g, "");
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`not an even run of hex digits: ${text}`);
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** Hex in 4-byte groups, 16 bytes a line, so a failing comparison shows where bytes differ. */
export function dump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let line = 0; line < bytes.length; line += 16) {
    const groups: string[] = [];
    for (let group = line; group < Math.min(line + 16, bytes.length); group += 4) {
      const chunk = bytes.subarray(group, Math.min(group + 4, line + 16, bytes.length));
      groups.push(Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join(""));
    }
    lines.push(`${line.toString(16).padStart(4, "0")}: ${groups.join(" ")}`);
  }
  return lines.join("\n");
}

/** Little-endian u32, as netlink carries lengths, sequence numbers and indexes on this host. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/** Visits each netlink message of a datagram by its nlmsg_len, independently of the codec. */
export function eachMessage(datagram: Uint8Array, visit: (offset: number, length: number) => void): void {
  for (let offset = 0; offset + 16 <= datagram.length;) {
    const length = readU32(datagram, offset);
    if (length < 16) throw new Error(`test data: message length ${length} at ${offset}`);
    visit(offset, length);
    offset += (length + 3) & ~3;
  }
}

/** A copy with every message's sequence number zeroed: the connection chooses its own. */
export function withoutSeq(datagram: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(datagram);
  eachMessage(copy, (offset) => copy.fill(0, offset + 8, offset + 12));
  return copy;
}

/** One message as the kernel frames it: nlmsghdr (seq 0, for FakeKernel to stamp), payload, padding. */
export function frame(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array((16 + payload.length + 3) & ~3);
  const view = new DataView(out.buffer);
  view.setUint32(0, 16 + payload.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  out.set(payload, 16);
  return out;
}

export const NLM_F_MULTI = 0x2;

/** The end of a dump: NLMSG_DONE, NLM_F_MULTI, status 0. */
export const DONE = hex`14000000 0300 0200 00000000 00000000  00000000`;

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => Array.from(part)));
}

// A NativeBinding that stands in for the kernel in unit tests: it records every request the
// connection sends and answers from a script, so the whole Handle path runs without root.

import { EXPECTED_ABI_VERSION, type NativeBinding } from "../../../../native/binding";
import { Handle } from "../../../../native/netlink/handle";
import { eachMessage, hex, readU32, withoutSeq } from "./bytes";

/** Datagrams to deliver after a request; a message whose seq is 0 gets the request's seq. */
export type Responder = (request: Uint8Array) => readonly Uint8Array[];

export class FakeKernel implements NativeBinding {
  readonly abiVersion = EXPECTED_ABI_VERSION;
  readonly sent: Uint8Array[] = [];
  readonly sysctlCalls: string[] = [];
  closed = 0;
  private readonly pending: Uint8Array[] = [];
  private readonly responders: Responder[];

  /** Each request is answered by the next responder; once they run out, by a plain ACK. */
  constructor(...responders: Responder[]) {
    this.responders = responders;
  }

  /** The requests sent so far, with their sequence numbers zeroed for comparison. */
  get requests(): Uint8Array[] {
    return this.sent.map(withoutSeq);
  }

  netlinkOpen(): number {
    return 42;
  }

  netlinkSend(fd: number, message: Uint8Array): void {
    if (fd !== 42) throw new Error(`send on fd ${fd}`);
    this.sent.push(Uint8Array.from(message));
    const seq = readU32(message, 8);
    const respond = this.responders.shift() ?? ack;
    for (const datagram of respond(message)) this.pending.push(stampSeq(datagram, seq));
  }

  netlinkReceive(): Buffer {
    const next = this.pending.shift();
    if (next === undefined) {
      throw Object.assign(new Error("poll ETIMEDOUT: Connection timed out"), {
        errno: -110,
        code: "ETIMEDOUT",
        syscall: "poll",
      });
    }
    return Buffer.from(next);
  }

  closeFd(): void {
    this.closed++;
  }

  sysctlRead(netnsPath: string | null, key: string): string {
    this.sysctlCalls.push(`read ${netnsPath} ${key}`);
    return "1\n";
  }

  sysctlWrite(netnsPath: string | null, key: string, value: string): void {
    this.sysctlCalls.push(`write ${netnsPath} ${key} ${value}`);
  }

  flock(): void {}

  execveIgnoring(): void {
    throw new Error("the fake kernel execs nothing");
  }
}

function stampSeq(datagram: Uint8Array, seq: number): Uint8Array {
  const copy = Uint8Array.from(datagram);
  const view = new DataView(copy.buffer);
  eachMessage(copy, (offset) => {
    if (view.getUint32(offset + 8, true) === 0) view.setUint32(offset + 8, seq, true);
  });
  return copy;
}

/** The kernel's acknowledgement: NLMSG_ERROR with error 0, echoing the request's header (capped). */
export const ack: Responder = (request) => [
  new Uint8Array([
    ...hex`24000000 0200 0001 00000000 00000000   # nlmsghdr: len 36, NLMSG_ERROR, NLM_F_CAPPED, seq, pid`,
    ...hex`00000000                               # error 0: success`,
    ...request.subarray(0, 16),
  ]),
];

/** A handle whose socket is the fake kernel. */
export function fakeHandle(...responders: Responder[]): { handle: Handle; kernel: FakeKernel } {
  const kernel = new FakeKernel(...responders);
  return { handle: Handle.open(kernel, "/run/netns/fake"), kernel };
}

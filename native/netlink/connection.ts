// Request/response over one rtnetlink socket: sequence numbers, acknowledgements, multipart dumps,
// extended-ack error text, and the retry of dumps the kernel marks as interrupted.

import type { NativeBinding } from "../binding";
import {
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSG_NOOP,
} from "./constants";
import { NetlinkError } from "./errors";
import {
  align4,
  Attributes,
  type Attribute,
  decodeMessages,
  encodeMessage,
  type Message,
  NetlinkDecodeError,
  NLMSG_HDRLEN,
} from "./wire";

/** How long one receive may wait for the kernel before the request fails with ETIMEDOUT. */
const RECEIVE_TIMEOUT_MS = 10_000;
/** A dump interrupted by concurrent changes is retried this many times (as netlinksafe does). */
const DUMP_ATTEMPTS = 5;

export interface Request {
  /** Names the operation in errors, e.g. "linkAdd veth0". */
  readonly operation: string;
  readonly type: number;
  /** Flags besides NLM_F_REQUEST and NLM_F_ACK, which are always set. */
  readonly flags?: number;
  readonly body: Uint8Array;
  readonly attributes?: readonly Attribute[];
}

export class NetlinkConnection {
  private readonly native: NativeBinding;
  private fd: number | undefined;
  private sequence: number;

  private constructor(native: NativeBinding, fd: number) {
    this.native = native;
    this.fd = fd;
    // Start from a time-derived number so replies to an earlier process's socket never match.
    this.sequence = (Date.now() & 0x7fffffff) >>> 0;
  }

  static open(native: NativeBinding, protocol: number, netnsPath: string | null): NetlinkConnection {
    return new NetlinkConnection(native, native.netlinkOpen(protocol, netnsPath));
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    this.native.closeFd(fd);
  }

  /** Sends a request and waits for its acknowledgement; returns the messages that came before it. */
  execute(request: Request): Message[] {
    const seq = this.send(request, (request.flags ?? 0) | NLM_F_ACK);
    const replies: Message[] = [];
    for (;;) {
      for (const message of this.receive()) {
        if (message.seq !== seq) continue;
        if (message.type === NLMSG_ERROR) {
          throwIfError(request.operation, message);
          return replies;
        }
        if (message.type !== NLMSG_NOOP) replies.push(message);
      }
    }
  }

  /** Runs a dump (NLM_F_DUMP) and returns every message of it, retrying interrupted dumps. */
  dump(request: Request): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { messages, interrupted } = this.dumpOnce(request);
      if (!interrupted) return messages;
      if (attempt === DUMP_ATTEMPTS) {
        throw new NetlinkError(`${request.operation} (dump interrupted ${DUMP_ATTEMPTS} times)`, 4);
      }
    }
  }

  private dumpOnce(request: Request): { messages: Message[]; interrupted: boolean } {
    const seq = this.send(request, (request.flags ?? 0) | NLM_F_DUMP);
    const messages: Message[] = [];
    let interrupted = false;
    for (;;) {
      for (const message of this.receive()) {
        if (message.seq !== seq) continue;
        if ((message.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if (message.type === NLMSG_DONE) {
          // Some families report a dump failure as a negative errno in the DONE payload.
          if (message.payload.length >= 4) {
            const status = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getInt32(0, true);
            if (status < 0) throw new NetlinkError(request.operation, -status);
          }
          return { messages, interrupted };
        }
        if (message.type === NLMSG_ERROR) {
          throwIfError(request.operation, message);
          return { messages, interrupted };
        }
        if (message.type !== NLMSG_NOOP) messages.push(message);
      }
    }
  }

  private send(request: Request, flags: number): number {
    if (this.fd === undefined) throw new Error(`${request.operation}: netlink connection is closed`);
    this.sequence = (this.sequence + 1) >>> 0;
    const message = encodeMessage(
      { type: request.type, flags: NLM_F_REQUEST | flags, seq: this.sequence, pid: 0 },
      request.body,
      request.attributes,
    );
    this.native.netlinkSend(this.fd, message);
    return this.sequence;
  }

  private receive(): Message[] {
    if (this.fd === undefined) throw new Error("netlink connection is closed");
    return decodeMessages(this.native.netlinkReceive(this.fd, RECEIVE_TIMEOUT_MS));
  }
}

/**
 * NLMSG_ERROR carries an int error (0 for an ack), the original header (capped: header only), and
 * with extended acks a list of attributes whose NLMSGERR_ATTR_MSG is the kernel's explanation.
 */
function throwIfError(operation: string, message: Message): void {
  const payload = message.payload;
  if (payload.length < 4) throw new NetlinkDecodeError(`NLMSG_ERROR payload of ${payload.length} bytes`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const error = view.getInt32(0, true);
  if (error === 0) return;
  let kernelMessage: string | undefined;
  if ((message.flags & NLM_F_ACK_TLVS) !== 0 && payload.length >= 4 + NLMSG_HDRLEN) {
    // The echoed request is only its header when the kernel honoured NETLINK_CAP_ACK.
    const echoedLength = (message.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : view.getUint32(4, true);
    const tlvs = payload.subarray(4 + align4(echoedLength));
    kernelMessage = Attributes.decode(tlvs).string(NLMSGERR_ATTR_MSG);
  }
  throw new NetlinkError(operation, -error, kernelMessage);
}

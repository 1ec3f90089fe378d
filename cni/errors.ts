// The error a plugin reports to its runtime: a spec error code, a message and details.

/** Well-known codes of the CNI specification (plus 999, skel's code for unexpected errors). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot service ADD requests. */
  NotAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  LimitedConnectivity: 51,
  Internal: 999,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a CNI code; anything else a plugin throws is reported as code 999. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, message: string, details = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "CniError";
    this.code = code;
    this.details = details;
  }
}

/** The JSON a plugin prints on stdout when it fails. */
export interface ErrorReply {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** Every message in an error's `cause` chain after the first, joined: the details of a 999. */
export function causeChain(error: Error): string {
  const messages: string[] = [];
  let cause: unknown = error.cause;
  while (cause !== undefined && messages.length < 16) {
    messages.push(cause instanceof Error ? cause.message : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return messages.join(": ");
}

/** Turns anything thrown into the CNI error it reports. */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  if (error instanceof Error)
    return new CniError(ErrorCode.Internal, error.message, causeChain(error), { cause: error });
  return new CniError(ErrorCode.Internal, String(error));
}

export function encodeErrorReply(error: CniError, cniVersion: string): string {
  const reply: ErrorReply = {
    cniVersion,
    code: error.code,
    msg: error.message,
    ...(error.details !== "" ? { details: error.details } : {}),
  };
  return JSON.stringify(reply, null, 4);
}

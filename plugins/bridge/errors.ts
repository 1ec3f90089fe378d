// Failures of the plugin's steps, reported as the reference words them, with the cause kept.

import { CniError, ErrorCode } from "../../cni/errors";

/** A CNI error (code 999, as skel reports plain errors) whose details are the cause's message. */
export function failure(message: string, cause: unknown): CniError {
  if (cause instanceof CniError) return cause;
  return new CniError(ErrorCode.Internal, message, cause instanceof Error ? cause.message : String(cause), { cause });
}

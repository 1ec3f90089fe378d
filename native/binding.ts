// The typed surface of the native addon (native/src/addon.cc) and the checks made before a call
// crosses into C++. Everything that knows about netlink messages lives in TypeScript; the addon only
// performs syscalls.

/** What the addon exports, exactly. */
export interface NativeBinding {
  readonly abiVersion: number;
  /** Opens and binds an AF_NETLINK socket inside the netns at `netnsPath` (null: the current one). */
  netlinkOpen(protocol: number, netnsPath: string | null): number;
  netlinkSend(fd: number, message: Uint8Array): void;
  /** One datagram; throws a SystemError with code ETIMEDOUT when nothing arrives in time. */
  netlinkReceive(fd: number, timeoutMs: number): Buffer;
  closeFd(fd: number): void;
  /** `key` is relative to /proc/sys and must start with `net/`. */
  sysctlRead(netnsPath: string | null, key: string): string;
  sysctlWrite(netnsPath: string | null, key: string, value: string): void;
  flock(fd: number, operation: number): void;
  /** Ignores `signal`, then execve; returns (throws) only when execve failed. */
  execveIgnoring(signal: number, file: string, argv: readonly string[], envp: readonly string[]): void;
}

/** The ABI this TypeScript expects; the addon exports its own and the loader compares them. */
export const EXPECTED_ABI_VERSION = 2;

/** The shape of errors the addon throws: the same fields as Node's own system errors. */
export interface SystemError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly path?: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SystemError>).code === "string" &&
    typeof (error as Partial<SystemError>).syscall === "string"
  );
}

/** True when `error` is a system error with one of the given codes (e.g. "ENOENT"). */
export function hasErrorCode(error: unknown, ...codes: readonly string[]): error is SystemError {
  return isSystemError(error) && codes.includes(error.code);
}

const FUNCTIONS = [
  "netlinkOpen",
  "netlinkSend",
  "netlinkReceive",
  "closeFd",
  "sysctlRead",
  "sysctlWrite",
  "flock",
  "execveIgnoring",
] as const satisfies readonly (keyof NativeBinding)[];

/** Validates a freshly loaded module object once; afterwards it is typed. */
export function asNativeBinding(exports: unknown, origin: string): NativeBinding {
  if (typeof exports !== "object" || exports === null) {
    throw new Error(`native addon from ${origin} exported ${typeof exports}, not an object`);
  }
  const record = exports as Record<string, unknown>;
  const missing = FUNCTIONS.filter((name) => typeof record[name] !== "function");
  if (missing.length > 0) {
    throw new Error(`native addon from ${origin} lacks ${missing.join(", ")}`);
  }
  if (record["abiVersion"] !== EXPECTED_ABI_VERSION) {
    throw new Error(
      `native addon from ${origin} has ABI version ${String(record["abiVersion"])}, expected ${EXPECTED_ABI_VERSION}; rebuild it`,
    );
  }
  return exports as NativeBinding;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * Validates a sysctl key relative to /proc/sys: under `net/`, no empty, `.` or `..` component.
 * Interface names may contain dots, so keys use `/` as the only separator (as /proc/sys does).
 */
export function checkSysctlKey(key: string): void {
  const parts = key.split("/");
  const safe =
    parts[0] === "net" &&
    parts.length > 1 &&
    !key.includes("\0") &&
    parts.every((part) => part !== "" && part !== "." && part !== "..");
  if (!safe) throw new RangeError(`sysctl key ${JSON.stringify(key)} is not a path under net/`);
}

export function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`invalid file descriptor ${fd}`);
}

/** Validates execve's arguments: C strings cannot hold NUL, and an environment entry is NAME=value. */
export function checkExecArguments(file: string, argv: readonly string[], envp: readonly string[]): void {
  for (const text of [file, ...argv, ...envp]) {
    if (text.includes("\0")) throw new RangeError(`execve argument ${JSON.stringify(text)} contains NUL`);
  }
  const malformed = envp.find((entry) => entry.indexOf("=") <= 0);
  if (malformed !== undefined) throw new RangeError(`environment entry ${JSON.stringify(malformed)} is not NAME=value`);
}

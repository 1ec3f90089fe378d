// Typed failures of netlink operations, so callers branch on `code` or the class, never on text.

/** Linux errno numbers by name, for the codes netlink reports in practice. */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  61: "ENODATA",
  71: "EPROTO",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  113: "EHOSTUNREACH",
  114: "EALREADY",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** The kernel rejected a request: `errno` is positive, `code` its name (e.g. "EEXIST"). */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly operation: string;
  readonly kernelMessage: string | undefined;

  constructor(operation: string, errno: number, kernelMessage?: string) {
    const code = errnoName(errno);
    super(`${operation}: ${code}${kernelMessage !== undefined ? ` (${kernelMessage})` : ""}`);
    this.name = "NetlinkError";
    this.errno = errno;
    this.code = code;
    this.operation = operation;
    this.kernelMessage = kernelMessage;
  }
}

/** A link looked up by name or index does not exist in the handle's namespace. */
export class LinkNotFoundError extends Error {
  readonly link: string | number;

  constructor(link: string | number, options?: ErrorOptions) {
    super(`link ${typeof link === "string" ? JSON.stringify(link) : `#${link}`} not found`, options);
    this.name = "LinkNotFoundError";
    this.link = link;
  }
}

export function isNetlinkError(error: unknown, ...codes: readonly string[]): error is NetlinkError {
  return error instanceof NetlinkError && (codes.length === 0 || codes.includes(error.code));
}

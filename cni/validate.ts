// Validation of the identifiers a runtime hands to a plugin. They reach file paths (host-local's
// data dir, flannel's saved configs) and interface names, so they are checked before anything
// touches the filesystem. Rules and codes follow the reference (cni/pkg/utils).

import { CniError, ErrorCode } from "./errors";

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const MAX_IFNAME_LENGTH = 15;

export function validateContainerId(containerId: string): void {
  if (containerId === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!NAME_PATTERN.test(containerId)) {
    throw new CniError(ErrorCode.InvalidEnvironment, "invalid characters in containerID", containerId);
  }
}

export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!NAME_PATTERN.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", name);
  }
}

export function validateInterfaceName(ifName: string): void {
  const problem = interfaceNameProblem(ifName);
  if (problem !== undefined) throw new CniError(ErrorCode.InvalidEnvironment, problem.message, problem.details);
}

/** Why `name` cannot name a link, or undefined: the reference's rules, and the kernel's beyond them. */
export function interfaceNameProblem(name: string): { readonly message: string; readonly details: string } | undefined {
  const problem = (message: string, details = "") => ({ message, details });
  const bytes = new TextEncoder().encode(name);
  if (name === "") return problem("interface name is empty");
  // The kernel counts bytes (IFNAMSIZ), not characters.
  if (bytes.length > MAX_IFNAME_LENGTH) {
    return problem(
      "interface name is too long",
      `interface name should be less than ${MAX_IFNAME_LENGTH + 1} characters`,
    );
  }
  if (name === "." || name === "..") return problem("interface name is . or ..");
  // Whitespace as Go's unicode.IsSpace sees it: JavaScript's \s lacks U+0085 (NEXT LINE).
  if (/[/:\s\u0085]/u.test(name)) return problem("interface name contains / or : or whitespace characters");
  // Names the kernel would refuse or rename, which the reference lets through to a netlink EINVAL
  // (999). Its isspace() is Latin-1 and byte-wise, so the UTF-8 of "à" (c3 a0) holds a space; "%"
  // makes a name a template ("eth%d" becomes eth0).
  if (bytes.includes(0xa0))
    return problem("interface name contains a byte the kernel reads as a space", "the UTF-8 byte 0xa0");
  if (name.includes("%")) return problem("interface name contains %, which the kernel reads as a name template");
  return undefined;
}

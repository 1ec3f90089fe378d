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
  const invalid = (message: string, details = ""): CniError =>
    new CniError(ErrorCode.InvalidEnvironment, message, details);
  if (ifName === "") throw invalid("interface name is empty");
  // The kernel counts bytes (IFNAMSIZ), not characters.
  if (new TextEncoder().encode(ifName).length > MAX_IFNAME_LENGTH) {
    throw invalid(
      "interface name is too long",
      `interface name should be less than ${MAX_IFNAME_LENGTH + 1} characters`,
    );
  }
  if (ifName === "." || ifName === "..") throw invalid("interface name is . or ..");
  // Whitespace as Go's unicode.IsSpace sees it: JavaScript's \s lacks U+0085 (NEXT LINE).
  if (/[/:\s\u0085]/u.test(ifName)) throw invalid("interface name contains / or : or whitespace characters");
}

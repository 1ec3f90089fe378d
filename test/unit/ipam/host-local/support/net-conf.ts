// Network configs as the skeleton hands them to host-local.

import type { NetConf } from "../../../../../cni/plugin";
import type { SpecVersion } from "../../../../../cni/version";

export function netConf(raw: Record<string, unknown>, cniVersion: SpecVersion = "1.0.0"): NetConf {
  return { cniVersion, name: "net", type: "host-local", raw: { cniVersion, name: "net", type: "host-local", ...raw } };
}

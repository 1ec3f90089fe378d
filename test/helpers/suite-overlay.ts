// The overlay clusters of the end-to-end tests: the built suite's binary and driver, our plugins
// before the reference ones, and kube-flannel's conflist as we ship it (conf/10-flannel.conflist).

import { readFileSync } from "node:fs";
import { join } from "node:path";

import type { Conflist, OverlayClusterOptions } from "../../netlab/overlay-cluster";
import { testNamespaces } from "./netns";
import { BUILT_BINARY, DRIVER, REFERENCE_PLUGINS, REPO_ROOT, suiteDir } from "./suite";

/** Everything of an overlay cluster's options but where its leases are kept. */
export function suiteOverlayOptions(
  dir: string,
  underlayPrefix: string,
  reconcileIntervalSeconds: number,
): Omit<OverlayClusterOptions, "store"> {
  return {
    namespaces: testNamespaces,
    dir,
    underlayPrefix,
    agentBinary: BUILT_BINARY,
    driverBinary: DRIVER,
    cniPath: [suiteDir(), REFERENCE_PLUGINS],
    conflist: JSON.parse(readFileSync(join(REPO_ROOT, "conf/10-flannel.conflist"), "utf8")) as Conflist,
    reconcileIntervalSeconds,
  };
}

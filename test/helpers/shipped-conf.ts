// The network configurations we ship (conf/), as the runtime tests use them: unchanged but for the
// node's files, which move into the test's directories.

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { REPO_ROOT } from "./suite";

export interface FlannelNodeFiles {
  /** The node's subnet.env (written by the agent, or by the test). */
  readonly subnetFile: string;
  /** flannel's saved delegate configs. */
  readonly dataDir: string;
  /** host-local's reservations. */
  readonly ipamDataDir: string;
}

export interface Conflist extends Record<string, unknown> {
  readonly name: string;
  readonly plugins: Record<string, unknown>[];
}

/** conf/10-flannel.conflist (kube-flannel's: flannel, then portmap) for a node whose files are `files`. */
export function shippedFlannelConflist(files: FlannelNodeFiles): Conflist {
  const conflist = JSON.parse(readFileSync(join(REPO_ROOT, "conf/10-flannel.conflist"), "utf8")) as Conflist;
  const [flannel, ...rest] = conflist.plugins;
  if (flannel?.["type"] !== "flannel") throw new Error("conf/10-flannel.conflist does not start with flannel");
  return {
    ...conflist,
    plugins: [
      { ...flannel, subnetFile: files.subnetFile, dataDir: files.dataDir, ipam: { dataDir: files.ipamDataDir } },
      ...rest,
    ],
  };
}

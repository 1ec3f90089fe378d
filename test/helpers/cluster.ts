// The tests' namespace clusters: the lab's cluster (netlab/cluster.ts) with the tests' namespace
// group and a scratch directory under build/.

import { Cluster as LabCluster, type ClusterOptions } from "../../netlab/cluster";
import { testNamespaces } from "./netns";
import { scratchDir } from "./suite";

export { AgentProcess, ClusterNode, eventually, Pod } from "../../netlab/cluster";

export class Cluster extends LabCluster {
  constructor(options: Omit<ClusterOptions, "namespaces" | "dir"> = {}) {
    super({ ...options, namespaces: testNamespaces, dir: scratchDir("cluster") });
  }
}

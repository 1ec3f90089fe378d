// make demo: a cluster of network namespaces on this machine. Three nodes on one underlay bridge,
// `tscni agent` (the compiled binary) in each on the embedded file store, pods added through libcni
// with kube-flannel's conflist (flannel -> bridge -> host-local, then the reference portmap). It
// prints who reaches whom and what each agent programmed, then removes everything it made, also on
// Ctrl-C, SIGTERM or failure. The machine's own network namespace is never changed: every link,
// address, route, sysctl and rule lives in namespaces named tscni-demo-<pid>-*.
//
//   node --import=tsx demo/demo.ts [--nodes 3] [--pods-per-node 2]     (make demo runs it, as root)

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { constants } from "node:os";

import yargs from "yargs";
import { hideBin } from "yargs/helpers";

import type { Pod } from "../netlab/cluster";
import { NetnsGroup } from "../netlab/netns";
import { type Conflist, OverlayCluster, pingEveryPair } from "../netlab/overlay-cluster";
import { runOk } from "../netlab/run";
import { nodePeerView, readFileStoreLeases } from "./peer-view";
import { renderMatrix, renderPeerViews } from "./render";

const ROOT = resolve(import.meta.dirname, "..");
const AGENT = join(ROOT, "dist/tscni");
const DRIVER = join(ROOT, "test/driver/bin/cnidriver");
const REFERENCE_PLUGINS = "/usr/lib/cni";
const CONFLIST = join(ROOT, "conf/10-flannel.conflist");
const NET_CONF = { Network: "10.244.0.0/16", Backend: { Type: "vxlan" } };
const RECONCILE_SECONDS = 10;

interface DemoOptions {
  readonly nodes: number;
  readonly podsPerNode: number;
}

function parseOptions(argv: string[]): DemoOptions {
  const parsed = yargs(argv)
    .scriptName("make demo")
    .usage("$0: a namespace cluster with the tscni agent and the flannel chain; removed at the end")
    .option("nodes", { type: "number", default: 3, describe: "Nodes on the underlay (2-20)" })
    .option("pods-per-node", { type: "number", default: 2, describe: "Pods added on each node (1-10)" })
    .check((args) => {
      if (!(Number.isInteger(args.nodes) && args.nodes >= 2 && args.nodes <= 20)) throw new Error("--nodes: 2-20");
      const pods = args["pods-per-node"];
      if (!(Number.isInteger(pods) && pods >= 1 && pods <= 10)) throw new Error("--pods-per-node: 1-10");
      return true;
    })
    .strict()
    .help()
    .parseSync();
  return { nodes: parsed.nodes, podsPerNode: parsed["pods-per-node"] };
}

/** What the demo needs that `make demo` provides; a clear message when run another way. */
function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (network namespaces): run it with sudo");
  for (const [path, how] of [
    [AGENT, "make build"],
    [DRIVER, "make test/driver/bin/cnidriver"],
    [join(REFERENCE_PLUGINS, "portmap"), "make deps (containernetworking-plugins)"],
  ] as const) {
    if (!existsSync(path)) missing.push(`${relative(ROOT, path) || path} (${how})`);
  }
  return missing;
}

async function main(): Promise<number> {
  const options = parseOptions(hideBin(process.argv));
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    console.error(`make demo needs: ${missing.join("; ")}`);
    return 1;
  }

  const namespaces = new NetnsGroup(`tscni-demo-${process.pid}-`);
  mkdirSync(join(ROOT, "build"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, "build", "demo-"));
  let overlay: OverlayCluster | undefined;
  let removed = false;
  // Idempotent and synchronous, so a signal handler can run it and exit at once.
  const removeEverything = (): void => {
    if (removed) return;
    removed = true;
    const agents = overlay?.nodes.map((node) => node.agent?.pid).filter((pid) => pid !== undefined) ?? [];
    overlay?.destroy();
    namespaces.deleteAll();
    rmSync(dir, { recursive: true, force: true });
    const left = namespaces.existing();
    console.log(
      `removed: agents ${agents.length > 0 ? agents.join(", ") : "(none)"}, namespaces ${namespaces.prefix}*, ` +
        `${relative(ROOT, dir)}${left.length > 0 ? `; could not remove ${left.join(", ")}` : ""}`,
    );
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      console.log(`\n${signal}: removing the demo cluster`);
      removeEverything();
      process.exit(128 + constants.signals[signal]);
    });
  }

  try {
    console.log(
      `tscni demo: ${options.nodes} nodes on one underlay bridge, a flannel-style VXLAN overlay\n` +
        `  namespaces ${namespaces.prefix}*, files in ${relative(ROOT, dir)}/ (both removed at the end)\n`,
    );
    const cniDir = join(dir, "bin");
    runOk("make", ["-s", "--no-print-directory", "-C", ROOT, "install", `PREFIX=${cniDir}`]);
    const storeDir = join(dir, "leases");
    const netConfPath = join(dir, "net-conf.json");
    writeFileSync(netConfPath, JSON.stringify(NET_CONF));
    const cluster = new OverlayCluster({
      namespaces,
      dir,
      agentBinary: AGENT,
      driverBinary: DRIVER,
      cniPath: [cniDir, REFERENCE_PLUGINS],
      conflist: JSON.parse(readFileSync(CONFLIST, "utf8")) as Conflist,
      store: { kind: "file", directory: storeDir },
      netConfPath,
      reconcileIntervalSeconds: RECONCILE_SECONDS,
    });
    overlay = cluster;

    console.log(`agents: tscni agent --store file:${relative(ROOT, storeDir)} --ip-masq in every node`);
    for (let n = 0; n < options.nodes; n++) {
      const node = cluster.addNode();
      const agent = await node.startAgent();
      console.log(
        `  ${node.name}  underlay ${node.node.underlayIp}  agent pid ${agent.pid}  subnet ${node.subnet()}  ` +
          `flannel.1 ${node.vtepMac()}`,
      );
    }

    const [first] = cluster.nodes;
    if (first !== undefined) {
      const env = readFileSync(first.node.subnetFile, "utf8").trim().split("\n").join("  ");
      console.log(`  ${first.name}'s subnet.env (what the flannel plugin reads): ${env}`);
    }

    console.log(
      `\npods: cnidriver add (libcni) with ${relative(ROOT, CONFLIST)}, CNI_PATH=${relative(ROOT, cniDir)}:${REFERENCE_PLUGINS}`,
    );
    for (const node of cluster.nodes) {
      for (let p = 0; p < options.podsPerNode; p++) {
        const pod = node.addPod();
        console.log(`  ${pod.name}  ${pod.ip}`);
      }
    }

    const results = await pingEveryPair(cluster.pods);
    const reached = (from: Pod, to: Pod) => results.some((r) => r.ok && r.from === from && r.to === to);
    console.log("\nconnectivity: one ICMP echo from each row to each column");
    for (const line of renderMatrix(cluster.pods, reached)) console.log(`  ${line}`);
    const failed = results.filter((r) => !r.ok).length;
    console.log(
      `  ${results.length - failed}/${results.length} pairs reach each other${failed > 0 ? `, ${failed} FAILED` : ""}`,
    );

    console.log("\npeers: leases in the store vs entries on flannel.1 (ip -j, bridge -j) vs the agent's /metrics");
    const leases = readFileStoreLeases(storeDir);
    for (const line of renderPeerViews(cluster.nodes.map((node) => nodePeerView(node, leases, cluster.nodes)))) {
      console.log(`  ${line}`);
    }

    console.log("\nremoving: cnidriver del for every pod, SIGTERM to every agent, then the namespaces");
    for (const node of cluster.nodes) for (const pod of node.pods) node.deletePod(pod);
    for (const node of cluster.nodes) await node.agent?.stop("SIGTERM");
    return failed === 0 ? 0 : 1;
  } catch (error: unknown) {
    // An agent that did not come up is reported with its logs.
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    removeEverything();
  }
}

process.exitCode = await main();

// make bench, container runtimes: what a container's network costs under podman (Debian 12's 4.3,
// CNI backend), with our plugins and with the reference plugins, same conflist shape (bridge +
// host-local), each side a podman of its own (test/helpers/podman.ts) in one node namespace made
// for the benchmark. Podman executes every plugin of every network it knows with VERSION, then ADD,
// and again in `podman container cleanup` for DEL: all of that is in `podman run --rm <image> true`.
// `--network none` on the same podman, run right after, is the baseline: the network's share is the
// median of those paired differences (pairs cancel most of the drift of a busy machine). Sides
// alternate within each repetition; figures are medians and p90s, ratios ours/reference.
//
//   tsx bench/runtimes.ts           (make bench runs it; BENCH_RUNTIME_RUNS tunes it)

import { rmSync } from "node:fs";
import { join } from "node:path";

import { buildBusyboxImage } from "../test/helpers/busybox-image";
import { TestNetns } from "../test/helpers/netns";
import { PodmanNode } from "../test/helpers/podman";
import { REFERENCE_PLUGINS, removeInstalledSuite, scratchDir, suiteDir } from "../test/helpers/suite";

const RUNS = Number(process.env["BENCH_RUNTIME_RUNS"] ?? 21);
const NETWORK = "bench";

type Side = "reference" | "tscni";

interface Samples {
  readonly network: number[];
  readonly none: number[];
  /** network - none, per repetition. */
  readonly share: number[];
}

/** Milliseconds of one `podman run --rm <image> true` on `network`. */
function timedRun(podman: PodmanNode, network: string): number {
  const started = process.hrtime.bigint();
  const result = podman.run(network, ["--rm"], ["true"]);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`podman run on ${network} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

function percentile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function printRow(name: string, reference: number, ours: number): void {
  const cell = (ms: number) => `${ms.toFixed(1)} ms`.padStart(12);
  const ratio = `${(ours / reference).toFixed(2)}x`.padStart(6);
  console.log(`| ${name.padEnd(40)} | ${cell(reference)} | ${cell(ours)} | ${ratio} |`);
}

async function main(): Promise<void> {
  const node = TestNetns.create("bench-node", { loUp: true });
  const imageDir = scratchDir("bench-image");
  const podmans: Partial<Record<Side, PodmanNode>> = {};
  try {
    const image = buildBusyboxImage(imageDir);
    const sides: readonly [Side, string][] = [
      ["reference", REFERENCE_PLUGINS],
      ["tscni", suiteDir()],
    ];
    for (const [index, [side, pluginDir]] of sides.entries()) {
      const podman = await PodmanNode.create(node.path, image, { pluginDirs: [pluginDir] });
      podmans[side] = podman;
      podman.writeNetwork(NETWORK, {
        cniVersion: "1.0.0",
        plugins: [
          {
            type: "bridge",
            bridge: `cnibench${index}`,
            isGateway: true,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: `10.${90 + index}.0.0/16` }]],
              dataDir: join(podman.dir, "networks"),
            },
          },
        ],
      });
      // Warm up: page cache, storage, the bridge's creation.
      timedRun(podman, NETWORK);
      timedRun(podman, "none");
    }

    const samples: Record<Side, Samples> = {
      reference: { network: [], none: [], share: [] },
      tscni: { network: [], none: [], share: [] },
    };
    const order: Side[] = ["reference", "tscni"];
    for (let i = 0; i < RUNS; i++) {
      for (const side of i % 2 === 0 ? order : [...order].reverse()) {
        const podman = podmans[side];
        if (podman === undefined) throw new Error(`no podman for ${side}`);
        const network = timedRun(podman, NETWORK);
        const none = timedRun(podman, "none");
        samples[side].network.push(network);
        samples[side].none.push(none);
        samples[side].share.push(network - none);
      }
    }

    const p50 = (side: Side, kind: keyof Samples) => percentile(samples[side][kind], 0.5);
    console.log(`\npodman run --rm <image> true (podman 4.3, CNI backend; ${RUNS} interleaved runs)`);
    console.log(`| ${"measurement".padEnd(40)} | ${"reference".padStart(12)} | ${"tscni".padStart(12)} | ratio  |`);
    console.log(`|${"-".repeat(42)}|${"-".repeat(14)}|${"-".repeat(14)}|--------|`);
    printRow("bridge + host-local network, p50", p50("reference", "network"), p50("tscni", "network"));
    printRow(
      "bridge + host-local network, p90",
      percentile(samples.reference.network, 0.9),
      percentile(samples.tscni.network, 0.9),
    );
    printRow("--network none, p50 (baseline)", p50("reference", "none"), p50("tscni", "none"));
    printRow("network's share (p50 of network - none)", p50("reference", "share"), p50("tscni", "share"));
  } finally {
    for (const podman of Object.values(podmans)) await podman.destroy();
    node.delete();
    rmSync(imageDir, { recursive: true, force: true });
    removeInstalledSuite();
  }
}

await main();

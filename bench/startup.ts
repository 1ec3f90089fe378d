// make bench: start-up and loopback latency of the suite's binary against the reference Go plugins
// (Debian's containernetworking-plugins), measured in the same run with hyperfine, pinned to one
// CPU, with the environment a kubelet gives (no NODE_EXTRA_CA_CERTS). Ratios matter, not absolute
// numbers: the machine is noisy, so compare medians from one run.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const REFERENCE = "/usr/lib/cni";
const RUNS = Number(process.env["BENCH_RUNS"] ?? 300);
const CPU = process.env["BENCH_CPU"] ?? "1";

interface Measurement {
  readonly command: string;
  readonly median: number;
  readonly mean: number;
  readonly stddev: number;
}

function sh(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { encoding: "utf8", env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

function hyperfine(work: string, commands: readonly string[], env: NodeJS.ProcessEnv, shell: boolean): Measurement[] {
  const exportFile = join(work, `hyperfine-${Date.now()}.json`);
  const args = ["-c", CPU, "hyperfine", ...(shell ? [] : ["-N"]), "--warmup", "20", "--runs", String(RUNS)];
  sh("taskset", [...args, "--export-json", exportFile, ...commands], env);
  const results = (JSON.parse(readFileSync(exportFile, "utf8")) as { results: Measurement[] }).results;
  return results.map((r) => ({
    command: r.command,
    median: r.median * 1000,
    mean: r.mean * 1000,
    stddev: r.stddev * 1000,
  }));
}

function report(title: string, reference: Measurement, ours: Measurement): number {
  const ratio = ours.median / reference.median;
  console.log(`\n${title}`);
  console.log(
    `  reference: median ${reference.median.toFixed(2)} ms (mean ${reference.mean.toFixed(2)} ± ${reference.stddev.toFixed(2)})`,
  );
  console.log(
    `  tscni:     median ${ours.median.toFixed(2)} ms (mean ${ours.mean.toFixed(2)} ± ${ours.stddev.toFixed(2)})`,
  );
  console.log(`  ratio:     ${ratio.toFixed(2)}x`);
  return ratio;
}

// build/ holds only generated files; after a clean checkout or `make clean` it does not exist yet.
mkdirSync(join(ROOT, "build"), { recursive: true });
const work = mkdtempSync(join(ROOT, "build", "bench-"));
const host = `tscni-bench-host-${process.pid}`;
const pod = `tscni-bench-pod-${process.pid}`;
try {
  sh("make", ["-s", "-C", ROOT, "install", `PREFIX=${join(work, "bin")}`]);
  const ours = join(work, "bin");
  const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "/usr/bin:/bin" };

  // Start-up: VERSION needs no kernel access, so it is the runtime's own cost.
  const version = hyperfine(
    work,
    [`${REFERENCE}/loopback`, `${ours}/loopback`],
    { ...env, CNI_COMMAND: "VERSION" },
    false,
  );
  const startupRatio = report("CNI_COMMAND=VERSION (start-up)", version[0]!, version[1]!);

  // loopback ADD in a namespace: start-up plus stdin, config, netlink. Both run through one shell
  // redirect, which costs both the same.
  sh("ip", ["netns", "add", host]);
  sh("ip", ["netns", "add", pod]);
  const config = join(work, "lo.json");
  writeFileSync(config, JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" }));
  const cniEnv = {
    ...env,
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "bench",
    CNI_NETNS: `/run/netns/${pod}`,
    CNI_IFNAME: "eth0",
    CNI_PATH: ours,
  };
  const add = hyperfine(
    work,
    [`ip netns exec ${host} ${REFERENCE}/loopback < ${config}`, `ip netns exec ${host} ${ours}/loopback < ${config}`],
    cniEnv,
    true,
  );
  report("loopback ADD (via ip netns exec and a shell redirect)", add[0]!, add[1]!);

  console.log(`\nStart-up ratio ${startupRatio.toFixed(2)}x (requirement: at most 4x; aim 3x)`);
  process.exitCode = startupRatio <= 4 ? 0 : 1;
} finally {
  spawnSync("ip", ["netns", "delete", pod]);
  spawnSync("ip", ["netns", "delete", host]);
  rmSync(work, { recursive: true, force: true });
}

// Fault injection: the plugin SIGKILLed in the middle of ADD (or DEL), then what a runtime does next
// (DEL through libcni, retried at most three times; GC with the list of attachments still valid),
// then the node inspected for anything left behind. Each chain gets its own node with a bystander pod
// that must come through every trial untouched (GC must not collect a valid attachment).
//
// Moments: a normal ADD (and DEL) is timed first, then kill delays are drawn uniformly over that
// duration (a little beyond it, so that some runs complete), plus fixed points found by watching
// the plugin: at its start, when a reservation file appears, when it runs a firewall tool, when
// flannel's saved config appears.

import { isIP } from "node:net";

import { type KilledRun, type Moment, onChildProcess, onFileCreated, runAndKill } from "./kill";
import { type Leftover, leftovers, podInterfaces } from "./leftovers";
import { type Chain, type ChainSpec, type Pod, ReliabilityNode } from "./node";
import { type Random, seededRandom } from "./random";

export interface FaultPlan {
  /** Kill trials during ADD at uniformly drawn delays, per chain. */
  readonly addTrials: number;
  /** Kill trials during DEL at uniformly drawn delays, per chain. */
  readonly delTrials: number;
  /** Normal ADDs and DELs timed per chain before the trials. */
  readonly calibrationRuns: number;
  readonly seed: number;
}

export interface Trial {
  readonly chain: string;
  readonly verb: "ADD" | "DEL";
  /** "uniform" for a drawn delay, else the fixed point's name. */
  readonly moment: string;
  /** The moment as a share of the verb's median duration on this chain (1 = where a normal run ends). */
  readonly share: number;
  readonly run: KilledRun;
  /** DEL attempts the runtime needed afterwards (at most 3); 0 when all three failed. */
  readonly delAttempts: number;
  /** What DEL alone left (GC's work), and what remained after GC too (must be nothing). */
  readonly afterDel: readonly Leftover[];
  readonly afterGc: readonly Leftover[];
  readonly failures: readonly string[];
}

export interface Calibration {
  readonly chain: string;
  readonly addMs: readonly number[];
  readonly delMs: readonly number[];
}

export interface FaultReport {
  readonly calibrations: readonly Calibration[];
  readonly trials: readonly Trial[];
  /** Found once each chain's node was emptied at the end (bystander deleted, GC with no valid attachment). */
  readonly finalLeftovers: readonly Leftover[];
  readonly failures: readonly string[];
}

const MAX_DEL_ATTEMPTS = 3;
/** Delays are drawn up to this multiple of the median duration: the tail shows complete runs. */
const DELAY_SPAN = 1.1;

export async function runFaultInjection(
  specs: readonly ChainSpec[],
  plan: FaultPlan,
  progress: (line: string) => void = () => {},
): Promise<FaultReport> {
  const random = seededRandom(plan.seed);
  const calibrations: Calibration[] = [];
  const trials: Trial[] = [];
  const finalLeftovers: Leftover[] = [];
  const failures: string[] = [];
  for (const spec of specs) {
    const node = new ReliabilityNode([spec]);
    try {
      const bed = new FaultBed(node, node.chains[0]!);
      await bed.addBystander();
      const calibration = await bed.calibrate(plan.calibrationRuns);
      calibrations.push(calibration);
      progress(
        `${bed.chain.label}: ADD ${median(calibration.addMs).toFixed(1)} ms, DEL ${median(calibration.delMs).toFixed(1)} ms`,
      );
      const addSpan = median(calibration.addMs) * DELAY_SPAN;
      const delSpan = median(calibration.delMs) * DELAY_SPAN;
      for (const moment of [...bed.fixedAddMoments(), ...uniformMoments(random, plan.addTrials, addSpan)]) {
        trials.push(await bed.addTrial(moment));
      }
      for (const moment of uniformMoments(random, plan.delTrials, delSpan)) trials.push(await bed.delTrial(moment));
      const chainTrials = trials.filter((t) => t.chain === bed.chain.label);
      const dirty = chainTrials.filter((t) => t.afterGc.length > 0 || t.failures.length > 0).length;
      progress(`${bed.chain.label}: ${chainTrials.length} trials, ${dirty} with leftovers or failures`);
      const end = await bed.finish();
      finalLeftovers.push(...end.leftovers);
      failures.push(...end.failures);
    } finally {
      node.remove();
    }
  }
  return { calibrations, trials, finalLeftovers, failures };
}

/** One chain's node and its bystander, and the trials run on it. */
class FaultBed {
  readonly node: ReliabilityNode;
  readonly chain: Chain;
  private bystander: { pod: Pod; veth: string } | undefined;
  /** Median durations of a normal ADD and DEL, once calibrated. */
  private medians = { ADD: 1, DEL: 1 };

  constructor(node: ReliabilityNode, chain: Chain) {
    this.node = node;
    this.chain = chain;
  }

  async addBystander(): Promise<void> {
    const pod = this.node.pod();
    const result = await this.node.driver("add", this.chain, pod);
    if (result.status !== 0) throw new Error(`${this.chain.label}: the bystander's ADD failed: ${result.stderr}`);
    const veth = hostVethOf(JSON.parse(result.stdout));
    this.bystander = { pod, veth };
  }

  /** Times normal ADDs and DELs (direct invocations, as the trials make them). */
  async calibrate(runs: number): Promise<Calibration> {
    const addMs: number[] = [];
    const delMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pod = this.node.pod();
      try {
        const add = await runAndKill(this.invocation("ADD", pod), NEVER);
        if (add.exitCode !== 0) throw new Error(`${this.chain.label}: calibration ADD failed: ${add.stdout}`);
        addMs.push(add.atMs);
        const del = await runAndKill(this.invocation("DEL", pod, JSON.parse(add.stdout)), NEVER);
        if (del.exitCode !== 0) throw new Error(`${this.chain.label}: calibration DEL failed: ${del.stdout}`);
        delMs.push(del.atMs);
      } finally {
        pod.ns.delete();
      }
    }
    this.medians = { ADD: median(addMs), DEL: median(delMs) };
    return { chain: this.chain.label, addMs, delMs };
  }

  fixedAddMoments(): { label: string; moment: Moment }[] {
    const isFirewallTool = (comm: string) => /^(ip6?tables-resto|nft)/.test(comm);
    const moments = [
      { label: "at start", moment: { kind: "delay", ms: 0 } as Moment },
      {
        label: "reservation file created",
        moment: onFileCreated("reservation", this.chain.reservationDir, (name) => isIP(name) !== 0),
      },
      { label: "firewall tool running", moment: onChildProcess("firewall tool", isFirewallTool) },
    ];
    const flannelDir = this.chain.flannelDir;
    if (flannelDir !== undefined) {
      moments.push({
        label: "delegate config being saved",
        moment: onFileCreated("saved config", flannelDir, (name) => name.startsWith(".tmp-")),
      });
    }
    return moments;
  }

  async addTrial({ label, moment }: { label: string; moment: Moment }): Promise<Trial> {
    const pod = this.node.pod();
    try {
      const run = await runAndKill(this.invocation("ADD", pod), moment);
      return await this.recover("ADD", label, run, pod);
    } finally {
      pod.ns.delete();
    }
  }

  async delTrial({ label, moment }: { label: string; moment: Moment }): Promise<Trial> {
    const pod = this.node.pod();
    try {
      const added = await this.node.driver("add", this.chain, pod);
      if (added.status !== 0) throw new Error(`${this.chain.label}: ADD before a DEL trial failed: ${added.stderr}`);
      const run = await runAndKill(this.invocation("DEL", pod, JSON.parse(added.stdout)), moment);
      return await this.recover("DEL", label, run, pod);
    } finally {
      pod.ns.delete();
    }
  }

  /** What the runtime does after the kill: DEL (up to three attempts), then GC; and what is left. */
  private async recover(verb: "ADD" | "DEL", moment: string, run: KilledRun, pod: Pod): Promise<Trial> {
    const failures: string[] = [];
    let delAttempts = 0;
    for (let attempt = 1; attempt <= MAX_DEL_ATTEMPTS && delAttempts === 0; attempt++) {
      const del = await this.node.driver("del", this.chain, pod);
      if (del.status === 0) delAttempts = attempt;
      else failures.push(`DEL attempt ${attempt}: ${del.stderr.trim()}`);
    }
    if (delAttempts > 0) failures.length = 0;
    const afterDel = [...podInterfaces(pod.ns), ...leftovers(this.node, this.keep())];
    const gc = await this.gc([this.bystanderPod()]);
    if (gc.exitCode !== 0) failures.push(`GC: ${gc.stdout.trim()}`);
    const afterGc = [...podInterfaces(pod.ns), ...leftovers(this.node, this.keep())];
    const share = run.atMs / this.medians[verb];
    return { chain: this.chain.label, verb, moment, share, run, delAttempts, afterDel, afterGc, failures };
  }

  /** The end: the bystander still whole, then deleted; GC with nothing valid; the node must be empty. */
  async finish(): Promise<{ leftovers: Leftover[]; failures: string[] }> {
    const pod = this.bystanderPod();
    const failures: string[] = [];
    const owned = leftovers(this.node).filter(
      (item) => item.owner === pod.containerId || item.what === this.bystander?.veth,
    );
    const kinds = new Set(owned.map((item) => item.kind));
    for (const kind of ["reservation", "veth", "masquerade rule", "cache entry"] as const) {
      if (!kinds.has(kind)) failures.push(`${this.chain.label}: the bystander lost its ${kind}`);
    }
    if (this.chain.flannelDir !== undefined && !kinds.has("saved delegate config")) {
      failures.push(`${this.chain.label}: the bystander lost its saved delegate config`);
    }
    const del = await this.node.driver("del", this.chain, pod);
    if (del.status !== 0) failures.push(`${this.chain.label}: the bystander's DEL failed: ${del.stderr}`);
    const gc = await this.gc([]);
    if (gc.exitCode !== 0) failures.push(`${this.chain.label}: the final GC failed: ${gc.stdout}`);
    const left = [...podInterfaces(pod.ns), ...leftovers(this.node)];
    pod.ns.delete();
    return { leftovers: left, failures };
  }

  private gc(valid: readonly Pod[]): Promise<KilledRun> {
    const attachments = valid.map((pod) => ({ containerID: pod.containerId, ifname: pod.ifName }));
    const config = this.chain.config("1.1.0", { "cni.dev/valid-attachments": attachments });
    return runAndKill(this.node.invocation("GC", this.chain, config), NEVER);
  }

  private invocation(command: "ADD" | "DEL", pod: Pod, prevResult?: unknown) {
    const extra = prevResult === undefined ? {} : { prevResult };
    return this.node.invocation(command, this.chain, this.chain.config("1.0.0", extra), pod);
  }

  private bystanderPod(): Pod {
    if (this.bystander === undefined) throw new Error("no bystander");
    return this.bystander.pod;
  }

  private keep() {
    const bystander = this.bystander;
    return {
      containerIds: new Set(bystander === undefined ? [] : [bystander.pod.containerId]),
      veths: new Set(bystander === undefined ? [] : [bystander.veth]),
    };
  }
}

const NEVER: Moment = { kind: "delay", ms: 2 ** 31 - 1 };

function uniformMoments(random: Random, count: number, spanMs: number): { label: string; moment: Moment }[] {
  return Array.from({ length: count }, () => ({ label: "uniform", moment: { kind: "delay", ms: random() * spanMs } }));
}

/** The host end of the pod's veth in an ADD result: the interface without a sandbox named veth…. */
function hostVethOf(result: { interfaces?: { name: string; sandbox?: string }[] }): string {
  const veth = result.interfaces?.find((i) => i.sandbox === undefined && i.name.startsWith("veth"));
  if (veth === undefined) throw new Error("no host veth in the ADD result");
  return veth.name;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

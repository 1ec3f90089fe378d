// Soak: mixed ADD, CHECK and DEL through the real libcni (test/driver) on one node, many in flight,
// over the bridge chain (iptables masquerade) and the flannel chain (nftables masquerade) at once.
// Every result's addresses are checked against those of the pods still attached (a duplicate is
// a failure), every failure is kept, and at the end, once every pod is deleted, the node must hold
// no reservation, veth, masquerade rule, saved config or cache entry.
//
// As a runtime: one operation at a time per pod, the pod's namespace made before its ADD and
// removed after its DEL, or, now and then, removed before the DEL (a pod whose sandbox is gone).

import { type Leftover, leftovers } from "./leftovers";
import { type Chain, type ChainSpec, type Pod, ReliabilityNode } from "./node";
import { pick, type Random, seededRandom } from "./random";

export interface SoakPlan {
  readonly operations: number;
  readonly inFlight: number;
  readonly seed: number;
}

export type SoakVerb = "ADD" | "CHECK" | "DEL" | "DEL (netns gone)";

export interface SoakFailure {
  readonly verb: SoakVerb;
  readonly chain: string;
  readonly message: string;
}

export interface SoakReport {
  readonly plan: SoakPlan;
  readonly chains: readonly string[];
  /** Operations that ran, by verb. */
  readonly operations: Readonly<Record<SoakVerb, number>>;
  readonly failures: readonly SoakFailure[];
  /** Addresses handed to a pod while another attached pod held them. */
  readonly duplicates: readonly string[];
  /** The most pods attached at one time. */
  readonly peakAttached: number;
  readonly leftovers: readonly Leftover[];
  readonly durationMs: number;
}

export const SOAK_CHAINS: readonly ChainSpec[] = [
  { kind: "bridge", backend: "iptables" },
  { kind: "flannel", backend: "nftables" },
];

/** Attached pods are kept below this, so that ADDs, CHECKs and DELs stay mixed. */
const MAX_ATTACHED = 40;
/** The share of DELs made after the pod's namespace is already gone. */
const GONE_NETNS_SHARE = 0.2;

interface LivePod {
  readonly pod: Pod;
  readonly chain: Chain;
  readonly addresses: readonly string[];
  busy: boolean;
}

export async function runSoak(plan: SoakPlan, progress: (line: string) => void = () => {}): Promise<SoakReport> {
  const started = performance.now();
  const node = new ReliabilityNode(SOAK_CHAINS);
  try {
    const soak = new Soak(node, seededRandom(plan.seed));
    await soak.run(plan, progress);
    await soak.drain();
    const left = await settledLeftovers(node);
    return {
      plan,
      chains: node.chains.map((chain) => chain.label),
      operations: soak.counts,
      failures: soak.failures,
      duplicates: soak.duplicates,
      peakAttached: soak.peakAttached,
      leftovers: left,
      durationMs: performance.now() - started,
    };
  } finally {
    node.remove();
  }
}

class Soak {
  readonly counts: Record<SoakVerb, number> = { ADD: 0, CHECK: 0, DEL: 0, "DEL (netns gone)": 0 };
  readonly failures: SoakFailure[] = [];
  readonly duplicates: string[] = [];
  peakAttached = 0;
  private readonly node: ReliabilityNode;
  private readonly random: Random;
  private readonly attached = new Set<LivePod>();
  /** Address -> the attached pod holding it. */
  private readonly holders = new Map<string, LivePod>();

  constructor(node: ReliabilityNode, random: Random) {
    this.node = node;
    this.random = random;
  }

  async run(plan: SoakPlan, progress: (line: string) => void): Promise<void> {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < plan.operations) {
        const number = ++issued;
        await this.step();
        if (number % 500 === 0) progress(`soak: ${number} operations, ${this.failures.length} failures`);
      }
    };
    await Promise.all(Array.from({ length: plan.inFlight }, worker));
  }

  /** DEL of every pod still attached (counted like any other operation). */
  async drain(): Promise<void> {
    await Promise.all([...this.attached].map((live) => this.del(live, false)));
  }

  /** One operation: ADD a new pod, or CHECK or DEL an attached one that is not busy. */
  private async step(): Promise<void> {
    const idle = [...this.attached].filter((live) => !live.busy);
    const roll = this.random();
    if (idle.length === 0 || (this.attached.size < MAX_ATTACHED && roll < 0.4)) {
      await this.add(this.node.chains[pick(this.random, this.node.chains.length)]!);
      return;
    }
    const live = idle[pick(this.random, idle.length)]!;
    if (roll < 0.7) await this.check(live);
    else await this.del(live, this.random() < GONE_NETNS_SHARE);
  }

  private async add(chain: Chain): Promise<void> {
    this.counts.ADD += 1;
    const pod = this.node.pod();
    const reply = await this.node.driver("add", chain, pod);
    if (reply.status !== 0) {
      this.fail("ADD", chain, reply.stderr);
      // As a runtime: a failed ADD is followed by DEL, then the sandbox goes.
      await this.node.driver("del", chain, pod);
      pod.ns.delete();
      return;
    }
    const addresses = resultAddresses(reply.stdout);
    const live: LivePod = { pod, chain, addresses, busy: false };
    for (const address of addresses) {
      const holder = this.holders.get(address);
      if (holder !== undefined) {
        this.duplicates.push(`${address}: ${pod.containerId} while ${holder.pod.containerId} held it`);
      }
      this.holders.set(address, live);
    }
    this.attached.add(live);
    this.peakAttached = Math.max(this.peakAttached, this.attached.size);
  }

  private async check(live: LivePod): Promise<void> {
    this.counts.CHECK += 1;
    live.busy = true;
    const reply = await this.node.driver("check", live.chain, live.pod);
    live.busy = false;
    if (reply.status !== 0) this.fail("CHECK", live.chain, reply.stderr);
  }

  /** From its start the pod no longer holds its addresses: DEL may release them at any moment. */
  private async del(live: LivePod, netnsGone: boolean): Promise<void> {
    const verb: SoakVerb = netnsGone ? "DEL (netns gone)" : "DEL";
    this.counts[verb] += 1;
    live.busy = true;
    this.attached.delete(live);
    for (const address of live.addresses) if (this.holders.get(address) === live) this.holders.delete(address);
    if (netnsGone) live.pod.ns.delete();
    const reply = await this.node.driver("del", live.chain, live.pod);
    if (reply.status !== 0) this.fail(verb, live.chain, reply.stderr);
    live.pod.ns.delete();
  }

  private fail(verb: SoakVerb, chain: Chain, stderr: string): void {
    this.failures.push({ verb, chain: chain.label, message: stderr.trim() });
  }
}

/** The addresses (without prefix length) of a libcni ADD result. */
function resultAddresses(stdout: string): string[] {
  const result = JSON.parse(stdout) as { ips?: { address: string }[] };
  return (result.ips ?? []).map((ip) => ip.address.split("/")[0] ?? "");
}

/**
 * What is left once the kernel finished destroying the deleted namespaces: a veth whose namespace
 * was removed goes away asynchronously, so veths are looked at again for up to two seconds.
 */
async function settledLeftovers(node: ReliabilityNode): Promise<Leftover[]> {
  for (let waited = 0; ; waited += 100) {
    const left = leftovers(node);
    if (waited >= 2000 || !left.some((item) => item.kind === "veth")) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Programming 1000 peers into an empty node: the agent's datapath (the compiled driver, the code the
// daemon runs for a lease snapshot) against `bridge -batch` + `ip -batch` doing the same kernel
// operations (a permanent neighbour, an FDB entry and an onlink route per peer) on the same device
// in a fresh, identical namespace. Repetitions alternate which side goes first; each side gets one
// unmeasured warm-up run (page cache, the driver's JIT), as a running daemon would be warm. Ours is
// timed inside the driver around the programming call; the reference from outside, so its figure
// also holds the start of `bridge` and `ip` (a few milliseconds): the comparison favours it.

import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { vtepMac } from "../../agent/datapath/vxlan-device";
import { TestNetns } from "../../test/helpers/netns";
import { runOk } from "../../test/helpers/run";
import { batchesOf, DEVICE, remoteNodes, UNDERLAY } from "./fleet";
import { onInterrupt } from "./interrupt";
import { compileLikeTheProduct, JsonLinesChild } from "./json-lines";
import { type Figure, median } from "./report";

export interface ProgrammingOptions {
  readonly peers: number;
  readonly repetitions: number;
  readonly work: string;
}

interface DriverReply {
  readonly programMs?: number;
  readonly reconcileMs?: number;
  readonly problems?: readonly string[];
  readonly error?: string;
}

/** A namespace like an empty node: `eth0` with the underlay address (its veth peer stays in the namespace). */
function emptyNode(label: string): TestNetns {
  const ns = TestNetns.create(label, { loUp: true });
  ns.ip("link", "add", UNDERLAY.name, "mtu", String(UNDERLAY.mtu), "type", "veth", "peer", "name", "underlay");
  ns.ip("addr", "add", UNDERLAY.cidr, "dev", UNDERLAY.name);
  ns.ip("link", "set", UNDERLAY.name, "up");
  return ns;
}

/** The VXLAN device as the agent makes it, made with `ip`. */
function handMadeDevice(ns: TestNetns): void {
  ns.ip(
    ...["link", "add", DEVICE, "mtu", String(UNDERLAY.mtu - 50), "address", vtepMac(4, 1, UNDERLAY.address)],
    ...["type", "vxlan", "id", "1", "local", UNDERLAY.address, "dev", UNDERLAY.name, "dstport", "8472", "nolearning"],
  );
  ns.ip("addr", "add", "10.0.1.0/32", "dev", DEVICE);
  ns.ip("link", "set", DEVICE, "up");
}

/** Fails unless the namespace holds exactly `count` peers' entries on the device (the `ip -j` oracle). */
function checkProgrammed(ns: TestNetns, count: number): void {
  const routes = ns.ipJson<unknown[]>("-4", "route", "show", "dev", DEVICE).length;
  const neighbours = ns.ipJson<unknown[]>("-4", "neigh", "show", "dev", DEVICE, "nud", "permanent").length;
  const fdb = ns.bridgeJson<{ dst?: string }[]>("fdb", "show", "dev", DEVICE).filter((e) => e.dst).length;
  if (routes !== count || neighbours !== count || fdb !== count) {
    throw new Error(`${ns.name}: ${routes} routes, ${neighbours} neighbours, ${fdb} FDB entries; wanted ${count} each`);
  }
}

async function agentRun(driver: JsonLinesChild, peers: number): Promise<{ programMs: number; reconcileMs: number }> {
  const ns = emptyNode("agentprog");
  try {
    const reply = await driver.request<DriverReply>({ netns: ns.path, count: peers });
    if (reply.error !== undefined || (reply.problems?.length ?? 0) > 0) {
      throw new Error(`the datapath driver failed: ${reply.error ?? reply.problems?.join("; ")}`);
    }
    checkProgrammed(ns, peers);
    return { programMs: reply.programMs ?? NaN, reconcileMs: reply.reconcileMs ?? NaN };
  } finally {
    ns.delete();
  }
}

function referenceRun(batches: { bridge: string; ip: string }, peers: number): number {
  const ns = emptyNode("refprog");
  try {
    handMadeDevice(ns);
    const started = performance.now();
    runOk("bridge", ["-n", ns.name, "-batch", batches.bridge]);
    runOk("ip", ["-n", ns.name, "-batch", batches.ip]);
    const elapsed = performance.now() - started;
    checkProgrammed(ns, peers);
    return elapsed;
  } finally {
    ns.delete();
  }
}

export async function benchmarkProgramming(options: ProgrammingOptions): Promise<Figure[]> {
  const nodes = remoteNodes(options.peers);
  const text = batchesOf(nodes);
  const batches = { bridge: join(options.work, "fdb.batch"), ip: join(options.work, "ip.batch") };
  writeFileSync(batches.bridge, text.bridge);
  writeFileSync(batches.ip, text.ip);
  const driver = new JsonLinesChild(compileLikeTheProduct("bench/agent/programming-driver.ts", options.work), []);
  const forget = onInterrupt(() => driver.kill());
  try {
    await agentRun(driver, options.peers);
    referenceRun(batches, options.peers);
    const ours: number[] = [];
    const reconcile: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < options.repetitions; i++) {
      const runOurs = async () => {
        const { programMs, reconcileMs } = await agentRun(driver, options.peers);
        ours.push(programMs);
        reconcile.push(reconcileMs);
      };
      const runReference = () => reference.push(referenceRun(batches, options.peers));
      if (i % 2 === 0) {
        await runOurs();
        runReference();
      } else {
        runReference();
        await runOurs();
      }
    }
    const n = options.peers;
    return [
      {
        name: `program ${n} peers (median of ${options.repetitions})`,
        unit: "ms",
        tscni: median(ours),
        reference: median(reference),
        target: { kind: "ratio at most", value: 2 },
      },
      {
        name: `start-up reconcile pass over ${n} peers`,
        unit: "ms",
        tscni: median(reconcile),
        target: { kind: "none" },
      },
    ];
  } finally {
    forget();
    driver.kill();
  }
}

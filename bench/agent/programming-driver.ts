// The agent's datapath in a process of its own, compiled like dist/tscni (Bun, bytecode, embedded
// addon): it programs peer leases into a node namespace through the code the daemon runs for a
// lease snapshot (Overlay.applyEvent), then runs the daemon's start-up reconcile pass over them.
// It stays up between requests, as the daemon does, so only the first request pays for JIT warm-up.
//
// stdin: one JSON request a line, {"netns": "/run/netns/<name>", "count": 1000}. stdout: one JSON
// reply a line, {"programMs", "reconcileMs", "problems"} or {"error"}.

import embeddedAddon from "../../native/build/Release/tscni_native.node" with { type: "file" };
import { createInterface } from "node:readline";

import type { Logger, LogMeta } from "../../cni/log";
import { Overlay } from "../../agent/datapath/overlay";
import { AgentMetrics } from "../../agent/metrics";
import { parseNetworkConfig } from "../../agent/network-config";
import { selectUnderlay } from "../../agent/underlay";
import { setNativeLoader } from "../../native/loader";
import { openHandle } from "../../native/netlink/handle";
import { leaseOf, NET_CONF, ownLease, remoteNodes, UNDERLAY } from "./fleet";

setNativeLoader(async () => (await import("../../native/embedded")).loadEmbeddedAddon(embeddedAddon));

interface Request {
  readonly netns: string;
  readonly count: number;
}

/** Keeps warnings and errors (a failed entry is a warning of the datapath): the run must have none. */
function collectingLogger(problems: string[]): Logger {
  const keep = (message: string, meta?: LogMeta) => problems.push(`${message} ${JSON.stringify(meta ?? {})}`);
  const logger: Logger = { error: keep, warn: keep, info: () => {}, debug: () => {}, child: () => logger };
  return logger;
}

async function program(request: Request): Promise<object> {
  const config = parseNetworkConfig(NET_CONF);
  const problems: string[] = [];
  const handle = await openHandle(request.netns);
  try {
    const underlay = selectUnderlay(handle, {
      ifaces: [UNDERLAY.name],
      ifaceRegexes: [],
      publicIp: undefined,
      publicIpv6: undefined,
      ipv4: true,
      ipv6: false,
    });
    const overlay = new Overlay(handle, config, underlay, collectingLogger(problems), new AgentMetrics());
    overlay.ensureDevices();
    const own = ownLease();
    overlay.activate(own);
    const leases = [own, ...remoteNodes(request.count).map(leaseOf)];

    const started = performance.now();
    overlay.applyEvent({ type: "snapshot", leases });
    const programmed = performance.now();
    for (const { error } of overlay.reconcile()) if (error !== undefined) problems.push(String(error));
    const reconciled = performance.now();
    return { programMs: programmed - started, reconcileMs: reconciled - programmed, problems };
  } finally {
    handle.close();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const reply = await program(JSON.parse(line) as Request).catch((error: unknown) => ({ error: String(error) }));
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}

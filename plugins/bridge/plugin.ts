// The bridge plugin: the reference's bridge, key for key, on the shared skeleton. ADD pairs every
// resource it acquires with its undo; DEL removes whatever is left, in any state an interrupted ADD
// can leave; CHECK is in check.ts; GC and STATUS delegate to IPAM (and GC to masquerade).

import type { AddRequest, CheckRequest, DelRequest, GcRequest, PluginCommands, StatusRequest } from "../../cni/plugin";
import type { Interface, Result } from "../../cni/result";
import { Rollback } from "../../cni/rollback";
import { hasErrorCode } from "../../native/binding";
import { type Handle, openHandle } from "../../native/netlink/handle";
import type { BridgeLink, Link } from "../../native/netlink/link";
import { ensureBridge } from "./bridge-device";
import { checkAttachment } from "./check";
import { type BridgeConfig, parseBridgeConfig } from "./config";
import { configureContainerInterface, prepareContainerInterface } from "./container-interface";
import { failure } from "./errors";
import { enableForwarding, ensureGatewayAddress, planGateways } from "./gateway";
import { setupIpMasq, teardownIpMasq, gcIpMasq } from "./ip-masq";
import { waitForPortUp } from "./port-state";
import { createVeth, type VethPair } from "./veth";
import { configurePort, ensureVlanGateway } from "./vlan";

async function cmdAdd(request: AddRequest): Promise<Result> {
  const { MAC } = request.cniArgs.load(["MAC"]);
  const config = parseBridgeConfig(request.config, MAC);
  const host = await openHandle();
  try {
    const rollback = new Rollback(request.logger);
    return await rollback.guard(() => addAttachment(request, config, host, rollback));
  } finally {
    host.close();
  }
}

async function addAttachment(
  request: AddRequest,
  config: BridgeConfig,
  host: Handle,
  rollback: Rollback,
): Promise<Result> {
  // IPAM runs while the links are made, so an exec'd IPAM plugin's run costs little time of ours.
  // The netlink calls below are synchronous: one turn of the event loop lets the child start first.
  const ipam = config.ipamType !== undefined ? startIpam(request, config.ipamType, rollback) : undefined;
  if (ipam !== undefined) await new Promise((resolve) => setImmediate(resolve));
  const bridge = ensureBridge(host, config);
  const veth = createVeth(host, rollback, {
    ifName: request.ifName,
    netns: request.netns,
    bridgeIndex: bridge.index,
    mtu: config.mtu,
    mac: config.mac,
  });
  configurePort(host, veth.host.index, veth.host.name, bridge, config);
  if (config.macSpoofCheck) {
    const { setupSpoofCheck, teardownSpoofCheck } = await import("./spoof-check");
    const target = attachmentOf(request);
    rollback.defer("spoof-check rules", () => teardownSpoofCheck(target));
    await setupSpoofCheck(target, veth.host.name, veth.container.mac);
  }
  const interfaces: Interface[] = [
    { name: bridge.name, ...(bridge.mac !== undefined ? { mac: bridge.mac } : {}) },
    { name: veth.host.name, mac: veth.host.mac },
    { name: veth.container.name, mac: veth.container.mac, sandbox: request.netns },
  ];
  const addressing =
    ipam === undefined
      ? await addLayer2(request, config, veth)
      : await addLayer3(request, config, host, rollback, await ipam(), { bridge, veth, interfaces });
  if (!config.disableContainerInterface) await waitForPortUp(host, veth.host);
  return { interfaces, ...addressing, dns: config.dns ?? addressing.dns };
}

/**
 * Starts IPAM ADD and registers its release, which waits for the ADD to finish and releases only
 * what it reserved; a failed ADD released everything itself. Returns the wait for its result.
 */
function startIpam(request: AddRequest, ipamType: string, rollback: Rollback): () => Promise<Result> {
  const outcome = request.invoke.add(ipamType).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  rollback.defer(`IPAM (${ipamType}) reservation`, async () => {
    if ("result" in (await outcome)) await request.invoke.del(ipamType);
  });
  return async () => {
    const settled = await outcome;
    if ("error" in settled) throw settled.error;
    return settled.result;
  };
}

/** What IPAM (or nothing, in L2 mode) adds to the result. */
type Addressing = Pick<Result, "ips" | "routes" | "dns">;

async function addLayer2(request: AddRequest, config: BridgeConfig, veth: VethPair): Promise<Addressing> {
  await inPod(request.netns, (pod) => {
    prepareContainerInterface(pod, request.ifName, config.enableDad);
    if (!config.disableContainerInterface) pod.linkSetUp(veth.container.index);
  });
  return { ips: [], routes: [], dns: {} };
}

interface Links {
  readonly bridge: BridgeLink;
  readonly veth: VethPair;
  /** The result's interfaces, to which a VLAN gateway interface is appended. */
  readonly interfaces: Interface[];
}

async function addLayer3(
  request: AddRequest,
  config: BridgeConfig,
  host: Handle,
  rollback: Rollback,
  ipam: Result,
  { bridge, veth, interfaces }: Links,
): Promise<Addressing> {
  if (ipam.ips.length === 0) throw failure("IPAM plugin returned missing IP config", "no ips in its result");
  const plan = planGateways(ipam, config);

  await inPod(request.netns, async (pod) => {
    prepareContainerInterface(pod, request.ifName, config.enableDad);
    await configureContainerInterface(pod, {
      ifName: request.ifName,
      index: veth.container.index,
      ips: plan.ips,
      routes: plan.routes,
      enableDad: config.enableDad,
    });
  });

  for (const [family, gateways] of plan.gateways) {
    for (const gateway of gateways) {
      const link = config.vlan !== 0 ? gatewayInterface(host, bridge, config, interfaces) : bridge;
      ensureGatewayAddress(host, link, gateway, config.forceAddress);
    }
    if (gateways.length > 0) enableForwarding(host, family);
  }

  if (config.ipMasq) {
    const masquerade = { network: config.network, ...attachmentOf(request), ips: plan.ips.map((ip) => ip.address) };
    rollback.defer("masquerade rules", () => teardownIpMasq(masquerade));
    await setupIpMasq(config.ipMasqBackend, masquerade);
  }
  return { ips: plan.ips, routes: plan.routes, dns: ipam.dns };
}

/** The VLAN's gateway interface, listed in the result after the container's the first time. */
function gatewayInterface(host: Handle, bridge: BridgeLink, config: BridgeConfig, interfaces: Interface[]): Link {
  const link = ensureVlanGateway(host, bridge, config);
  if (!interfaces.some((i) => i.name === link.name)) {
    interfaces.push({ name: link.name, ...(link.mac !== undefined ? { mac: link.mac } : {}) });
  }
  return link;
}

function attachmentOf(request: { containerId: string; ifName: string }): { containerId: string; ifName: string } {
  return { containerId: request.containerId, ifName: request.ifName };
}

async function inPod<T>(netns: string, work: (pod: Handle) => T | Promise<T>): Promise<T> {
  const pod = await openHandle(netns);
  try {
    return await work(pod);
  } finally {
    pod.close();
  }
}

// ---------------------------------------------------------------------------------------------
// DEL: every step is tried whatever happened to the others; the first failure is reported after.

async function cmdDel(request: DelRequest): Promise<void> {
  const config = parseBridgeConfig(request.config);
  const failures: unknown[] = [];
  const step = async (what: string, work: () => unknown): Promise<void> => {
    try {
      await work();
    } catch (error: unknown) {
      request.logger.warn(`DEL: ${what} failed`, { error: error instanceof Error ? error.message : String(error) });
      failures.push(error);
    }
  };

  let liveAddresses: string[] = [];
  const netns = request.netns;
  if (netns.state === "present") {
    await step("deleting the container interface", async () => {
      liveAddresses = await deleteContainerInterface(netns.path, request.ifName);
    });
  } else if (request.prevResult !== undefined) {
    const prevResult = request.prevResult;
    await step("deleting the host veth", () => deleteOrphanHostVeth(prevResult, config));
  }
  if (config.ipamType !== undefined) {
    const ipamType = config.ipamType;
    await step("IPAM DEL", () => request.invoke.del(ipamType));
  }
  if (config.macSpoofCheck) {
    await step("removing the spoof-check rules", async () => {
      const { teardownSpoofCheck } = await import("./spoof-check");
      await teardownSpoofCheck(attachmentOf(request));
    });
  }
  if (config.ipamType !== undefined && config.ipMasq) {
    // Known addresses help the iptables backend, but the rules go even when nothing is known.
    const ips = new Set([...liveAddresses, ...(request.prevResult?.ips.map((ip) => ip.address) ?? [])]);
    await step("removing the masquerade rules", () =>
      teardownIpMasq({ network: config.network, ...attachmentOf(request), ips: [...ips] }),
    );
  }
  if (failures.length > 0) throw failures[0];
}

/** Deletes the pod's interface if it is a veth (its host end goes with it); returns its global addresses. */
async function deleteContainerInterface(netnsPath: string, ifName: string): Promise<string[]> {
  let pod: Handle;
  try {
    pod = await openHandle(netnsPath);
  } catch (error: unknown) {
    // The namespace went away since the skeleton looked: so did the veth.
    if (hasErrorCode(error, "ENOENT", "EINVAL")) return [];
    throw error;
  }
  try {
    const link = pod.findLink(ifName);
    if (link?.kind !== "veth") return [];
    const addresses = pod
      .addrList({ linkIndex: link.index })
      .filter((a) => a.scope === 0)
      .map((a) => `${a.address}/${a.prefixLength}`);
    pod.linkDel(link.index);
    return addresses;
  } finally {
    pod.close();
  }
}

/**
 * Without the pod's namespace (CNI_NETNS empty or gone) the pair normally went with it; if the host
 * end from the previous result is still here, a port of our bridge with the same MAC, it is ours.
 */
async function deleteOrphanHostVeth(prevResult: Result, config: BridgeConfig): Promise<void> {
  const entry = prevResult.interfaces.find((i) => i.sandbox === undefined && i.name !== config.bridge);
  if (entry?.mac === undefined) return;
  const host = await openHandle();
  try {
    const link = host.findLink(entry.name);
    const bridge = host.findLink(config.bridge);
    if (link?.kind === "veth" && link.mac === entry.mac && link.masterIndex === bridge?.index) host.linkDel(link.index);
  } finally {
    host.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function cmdCheck(request: CheckRequest): Promise<void> {
  await checkAttachment(request, parseBridgeConfig(request.config));
}

async function cmdStatus(request: StatusRequest): Promise<void> {
  const config = parseBridgeConfig(request.config);
  if (config.ipamType !== undefined) await request.invoke.status(config.ipamType);
}

/** IPAM's GC, then the masquerade rules of attachments that are no longer valid; both always run. */
async function cmdGc(request: GcRequest): Promise<void> {
  const config = parseBridgeConfig(request.config);
  if (config.ipamType === undefined) return;
  const ipamType = config.ipamType;
  const results = await Promise.allSettled([
    request.invoke.gc(ipamType),
    config.ipMasq && request.validAttachments !== undefined
      ? gcIpMasq(config.network, request.validAttachments)
      : Promise.resolve(),
  ]);
  const rejected = results.find((r) => r.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
}

export const commands: PluginCommands = { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus };

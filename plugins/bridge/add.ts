// ADD: the bridge, the veth pair, the port, IPAM, the pod's addressing, the gateway and masquerade,
// each resource paired with its undo as soon as it exists, so that a failure anywhere leaves nothing.

import { CniError, ErrorCode } from "../../cni/errors";
import type { AddRequest, Attachment } from "../../cni/plugin";
import type { Interface, Result } from "../../cni/result";
import type { Rollback } from "../../cni/rollback";
import { type Handle, openHandle } from "../../native/netlink/handle";
import type { BridgeLink, Link } from "../../native/netlink/link";
import { ensureBridge } from "./bridge-device";
import type { BridgeConfig } from "./config";
import { configureContainerInterface, prepareContainerInterface } from "./container-interface";
import { failure } from "./errors";
import { enableForwarding, ensureGatewayAddress, planGateways } from "./gateway";
import { setupIpMasq, teardownIpMasq } from "./ip-masq";
import { waitForPortUp } from "./port-state";
import { createVeth, type VethPair } from "./veth";
import { configurePort, ensureVlanGateway } from "./vlan";

export async function addAttachment(
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

/** Below this MTU the kernel disables IPv6 on a link (RFC 8200's minimum link MTU). */
const IPV6_MIN_MTU = 1280;

/** What IPAM (or nothing, in L2 mode) adds to the result. */
type Addressing = Pick<Result, "ips" | "routes" | "dns">;

/** L2 only: the link comes up (unless disabled), its sysctls untouched, as the reference leaves them. */
async function addLayer2(request: AddRequest, config: BridgeConfig, veth: VethPair): Promise<Addressing> {
  if (!config.disableContainerInterface) await inPod(request.netns, (pod) => pod.linkSetUp(veth.container.index));
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
  if (config.mtu !== undefined && config.mtu < IPV6_MIN_MTU && ipam.ips.some((ip) => ip.address.includes(":"))) {
    // The kernel takes IPv6 off such a link; the reference fails later, on a sysctl, with 999.
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `mtu ${config.mtu} is below ${IPV6_MIN_MTU}, the least IPv6 works with`,
      "IPAM gave the interface an IPv6 address",
    );
  }
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

function attachmentOf(request: Attachment): Attachment {
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

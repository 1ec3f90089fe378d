// DEL: every step is tried whatever happened to the others, in any state an interrupted ADD can
// leave; the first failure is reported once all have run. IPAM is always released, and the firewall
// rules go even when the pod's interface is already gone.

import type { DelRequest } from "../../cni/plugin";
import type { Result } from "../../cni/result";
import { hasErrorCode } from "../../native/binding";
import { RT_SCOPE_UNIVERSE } from "../../native/netlink/constants";
import { isNetlinkError } from "../../native/netlink/errors";
import { type Handle, openHandle } from "../../native/netlink/handle";
import type { BridgeConfig } from "./config";
import { teardownIpMasq } from "./ip-masq";

export async function delAttachment(request: DelRequest, config: BridgeConfig): Promise<void> {
  const failures: unknown[] = [];
  const step = async (what: string, work: () => unknown): Promise<void> => {
    try {
      await work();
    } catch (error: unknown) {
      request.logger.warn(`DEL: ${what} failed`, { error: error instanceof Error ? error.message : String(error) });
      failures.push(error);
    }
  };

  const attachment = { containerId: request.containerId, ifName: request.ifName };
  const masquerade = config.ipamType !== undefined && config.ipMasq;
  let liveAddresses: string[] = [];
  const netns = request.netns;
  if (netns.state === "present") {
    await step("deleting the container interface", async () => {
      liveAddresses = await deleteContainerInterface(netns.path, request.ifName, masquerade);
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
      await teardownSpoofCheck(attachment);
    });
  }
  if (masquerade) {
    // Known addresses help the iptables backend, but the rules go even when nothing is known.
    const ips = new Set([...liveAddresses, ...(request.prevResult?.ips.map((ip) => ip.address) ?? [])]);
    await step("removing the masquerade rules", () =>
      teardownIpMasq({ network: config.network, ...attachment, ips: [...ips] }),
    );
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * Deletes the pod's interface if it is a veth (its host end goes with it). Returns its global
 * addresses when asked (an address dump costs about a millisecond; only masquerade needs them).
 */
async function deleteContainerInterface(netnsPath: string, ifName: string, withAddresses: boolean): Promise<string[]> {
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
    const addresses = withAddresses
      ? pod
          .addrList({ linkIndex: link.index })
          .filter((a) => a.scope === RT_SCOPE_UNIVERSE)
          .map((a) => `${a.address}/${a.prefixLength}`)
      : [];
    deleteLinkIfPresent(pod, link.index);
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
    if (link?.kind === "veth" && link.mac === entry.mac && link.masterIndex === bridge?.index) {
      deleteLinkIfPresent(host, link.index);
    }
  } finally {
    host.close();
  }
}

/** A pair can vanish between the lookup and the delete (its namespace is being torn down): done. */
function deleteLinkIfPresent(handle: Handle, index: number): void {
  try {
    handle.linkDel(index);
  } catch (error: unknown) {
    if (!isNetlinkError(error, "ENODEV")) throw error;
  }
}

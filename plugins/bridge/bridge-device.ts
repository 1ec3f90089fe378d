// The node's bridge: created on first use (or by whichever concurrent ADD wins the race), never
// deleted, brought up, its MAC pinned so that it no longer follows the lowest port MAC as pods come
// and go, and router advertisements ignored so that the plugin owns its routes.

import { CniError, ErrorCode } from "../../cni/errors";
import { hasErrorCode } from "../../native/binding";
import { isNetlinkError } from "../../native/netlink/errors";
import type { Handle } from "../../native/netlink/handle";
import type { BridgeLink, LinkChange } from "../../native/netlink/link";
import type { BridgeConfig } from "./config";
import { failure } from "./errors";
import { randomMac } from "./names";

/**
 * Ensures the bridge exists, is up and pinned; two netlink round trips when it already does. The
 * link returned is as found (before this call's changes): its index, name and MAC are what count.
 */
export function ensureBridge(host: Handle, config: BridgeConfig): BridgeLink {
  const name = config.bridge;
  const vlanFiltering = config.vlan !== 0 || config.vlanTrunk.length > 0;
  let link = host.findLink(name);
  if (link === undefined) {
    createBridge(host, config, vlanFiltering);
    link = host.linkByName(name);
  }
  if (link.kind !== "bridge") {
    throw new CniError(
      ErrorCode.Internal,
      `failed to create bridge ${JSON.stringify(name)}`,
      `${JSON.stringify(name)} already exists but is not a bridge`,
    );
  }
  // Its creator writes this before bringing it up, so a bridge that is down may lack it.
  if (!link.up) disableRouterAdvertisements(host, name);

  // One request whatever needs doing; setting the MAC to its current value pins it.
  const change: { -readonly [K in keyof LinkChange]: LinkChange[K] } = { up: true };
  if (link.mac !== undefined) change.mac = link.mac;
  if (config.promiscMode) change.promisc = true;
  // The reference leaves an existing bridge without filtering, so its VLAN settings have no effect.
  if (vlanFiltering && !link.vlanFiltering) change.bridge = { vlanFiltering: true };
  try {
    host.linkSet(link.index, change);
  } catch (error: unknown) {
    throw failure(`failed to set up bridge ${JSON.stringify(name)}`, error);
  }
  return link;
}

function createBridge(host: Handle, config: BridgeConfig, vlanFiltering: boolean): void {
  try {
    host.linkAdd({
      kind: "bridge",
      name: config.bridge,
      // An address given at creation is "set", not random: the bridge keeps it.
      mac: randomMac(),
      ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
      vlanFiltering,
    });
  } catch (error: unknown) {
    // Another ADD created it first; what it is gets checked by the caller.
    if (isNetlinkError(error, "EEXIST")) return;
    throw failure(`failed to create bridge ${JSON.stringify(config.bridge)}`, error);
  }
  disableRouterAdvertisements(host, config.bridge);
}

function disableRouterAdvertisements(host: Handle, name: string): void {
  try {
    host.sysctlWrite(`net/ipv6/conf/${name}/accept_ra`, "0");
  } catch (error: unknown) {
    // No IPv6 on this node: nothing to ignore.
    if (!hasErrorCode(error, "ENOENT")) throw error;
  }
}

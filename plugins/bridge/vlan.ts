// The host end's bridge port: hairpin and isolation flags, its VLANs, and, for a VLAN network with a
// gateway, the "<bridge>.<vlan>" interface that carries the gateway address in that VLAN.

import type { Handle } from "../../native/netlink/handle";
import type { BridgeVlan } from "../../native/netlink/bridge-vlan";
import type { BridgeLink, Link } from "../../native/netlink/link";
import { isNetlinkError } from "../../native/netlink/errors";
import type { BridgeConfig } from "./config";
import { failure } from "./errors";
import { NAME_ATTEMPTS, randomMac, randomVethName } from "./names";

/** Without a `vlan`, a trunk port's untagged traffic goes to VLAN 1, as in the reference. */
const NATIVE_TRUNK_VLAN = 1;

/** Sets what the config asks of a new port; nothing at all for a plain port (the kernel's defaults). */
export function configurePort(
  host: Handle,
  portIndex: number,
  portName: string,
  bridge: BridgeLink,
  config: BridgeConfig,
): void {
  try {
    if (config.hairpinMode || config.portIsolation) {
      host.linkSetBridgePort(portIndex, {
        ...(config.hairpinMode ? { hairpin: true } : {}),
        ...(config.portIsolation ? { isolated: true } : {}),
      });
    }
    setPortVlans(host, portIndex, bridge, config.vlan, config.vlanTrunk, config.preserveDefaultVlan);
  } catch (error: unknown) {
    throw failure(`failed to set up bridge port ${portName}`, error);
  }
}

function setPortVlans(
  host: Handle,
  portIndex: number,
  bridge: BridgeLink,
  vlan: number,
  trunk: readonly number[],
  preserveDefaultVlan: boolean,
): void {
  if (vlan === 0 && trunk.length === 0) return;
  // A new port holds exactly the bridge's default PVID, so that is the only VLAN to remove.
  const defaultPvid = bridge.vlanDefaultPvid ?? 0;
  if (!preserveDefaultVlan && defaultPvid !== 0) host.bridgeVlanDel(portIndex, [{ vid: defaultPvid }]);
  // The access VLAN comes last so that it keeps PVID and untagged if the trunk lists it too.
  const native = vlan !== 0 ? vlan : NATIVE_TRUNK_VLAN;
  host.bridgeVlanAdd(portIndex, [...trunkRanges(trunk), { vid: native, pvid: true, untagged: true }]);
}

/** Sorted VLAN ids as ranges, so that a large trunk is a few entries of one request. */
export function trunkRanges(vids: readonly number[]): BridgeVlan[] {
  const ranges: BridgeVlan[] = [];
  for (const vid of vids) {
    const last = ranges.at(-1);
    if (last !== undefined && (last.vidEnd ?? last.vid) === vid - 1)
      ranges[ranges.length - 1] = { vid: last.vid, vidEnd: vid };
    else ranges.push({ vid });
  }
  return ranges;
}

/**
 * The interface that holds the gateway of a VLAN network: a veth pair in the host namespace whose
 * "<bridge>.<vlan>" end carries the address and whose other end is a bridge port in that VLAN. It is
 * shared by every pod of the network and never deleted, like the bridge. A concurrent ADD may have
 * just created it: one found down is (re)configured, which is idempotent.
 */
export function ensureVlanGateway(host: Handle, bridge: BridgeLink, config: BridgeConfig): Link {
  const name = `${config.bridge}.${config.vlan}`;
  try {
    let gateway = host.findLink(name);
    if (gateway === undefined) {
      createGatewayPair(host, name, bridge);
      gateway = host.linkByName(name);
    }
    if (!gateway.up) {
      const port = gateway.parentIndex;
      if (port === undefined) throw new Error(`${name} has no peer`);
      // The bridge's MTU, as the reference gives it.
      host.linkSetMaster(port, bridge.index);
      setPortVlans(host, port, bridge, config.vlan, [], config.preserveDefaultVlan);
      host.linkSetUp(port);
      host.linkSetUp(gateway.index);
    }
    return gateway;
  } catch (error: unknown) {
    throw failure(`failed to create vlan interface ${JSON.stringify(name)}`, error);
  }
}

function createGatewayPair(host: Handle, name: string, bridge: BridgeLink): void {
  for (let attempt = 1; ; attempt++) {
    try {
      host.linkAdd({
        kind: "veth",
        name: randomVethName(),
        mtu: bridge.mtu,
        peer: { name, mac: randomMac(), mtu: bridge.mtu },
      });
      return;
    } catch (error: unknown) {
      if (!isNetlinkError(error, "EEXIST") || attempt === NAME_ATTEMPTS) throw error;
      // Someone else made the gateway interface; otherwise our random port name collided.
      if (host.findLink(name) !== undefined) return;
    }
  }
}

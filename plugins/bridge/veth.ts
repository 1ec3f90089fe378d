// The pod's veth pair, made in one netlink request from the host: the host end `veth<8 hex>` is
// created in the host namespace already enslaved to the bridge and up, the container end directly in
// the pod's namespace. Both MACs are chosen here, so they are known without asking the kernel and
// stay fixed (an address set at creation is never replaced by udev or the bridge).

import { CniError, ErrorCode } from "../../cni/errors";
import type { Rollback } from "../../cni/rollback";
import { isNetlinkError } from "../../native/netlink/errors";
import type { Handle } from "../../native/netlink/handle";
import { failure } from "./errors";
import { NAME_ATTEMPTS, randomMac, randomVethName } from "./names";

export interface VethEnd {
  readonly name: string;
  readonly index: number;
  readonly mac: string;
}

export interface VethPair {
  readonly host: VethEnd;
  /** Its index is the one in the pod's namespace. */
  readonly container: VethEnd;
}

export interface VethOptions {
  readonly ifName: string;
  readonly netns: string;
  readonly bridgeIndex: number;
  readonly mtu: number | undefined;
  /** The container end's MAC; random when undefined. */
  readonly mac: string | undefined;
}

/** Creates the pair and registers its deletion with `rollback` as soon as it exists. */
export function createVeth(host: Handle, rollback: Rollback, options: VethOptions): VethPair {
  const containerMac = options.mac ?? randomMac();
  const hostMac = randomMac();
  const mtu = options.mtu !== undefined ? { mtu: options.mtu } : {};
  for (let attempt = 1; ; attempt++) {
    const name = randomVethName();
    try {
      host.linkAdd({
        kind: "veth",
        name,
        mac: hostMac,
        ...mtu,
        masterIndex: options.bridgeIndex,
        up: true,
        peer: { name: options.ifName, mac: containerMac, ...mtu, netnsPath: options.netns },
      });
    } catch (error: unknown) {
      if (isNetlinkError(error, "EEXIST")) {
        // Either end's name may be taken: retry only when it is ours that collided.
        const hostNameTaken = host.findLink(name) !== undefined;
        if (hostNameTaken && attempt < NAME_ATTEMPTS) continue;
        if (!hostNameTaken) {
          throw new CniError(
            ErrorCode.Internal,
            `container veth name provided (${options.ifName}) already exists`,
            `in ${options.netns}`,
            { cause: error },
          );
        }
      }
      throw failure(`failed to create the veth pair for ${options.ifName}`, error);
    }
    // Deleting either end deletes both; by name, so it works even if the lookup below fails.
    rollback.defer(`veth ${name}`, () => {
      const link = host.findLink(name);
      if (link !== undefined) host.linkDel(link.index);
    });
    const link = host.linkByName(name);
    if (link.parentIndex === undefined) throw failure(`failed to look up ${name}`, "no peer index reported");
    return {
      host: { name, index: link.index, mac: hostMac },
      container: { name: options.ifName, index: link.parentIndex, mac: containerMac },
    };
  }
}

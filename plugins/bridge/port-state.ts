// The host end must be operationally up before ADD returns: the bridge forwards through a port only
// once the kernel has seen its carrier, and a pod whose first packets vanish looks broken.

import type { Handle } from "../../native/netlink/handle";
import type { VethEnd } from "./veth";
import { failure } from "./errors";

/**
 * Delays between looks, in milliseconds. The kernel reports a veth's state within microseconds
 * (its link events are urgent), so the first look nearly always succeeds; the total wait, about
 * 3.5 s, is the reference's.
 */
const POLL_DELAYS_MS = [0, 1, 5, 20, 50, 100, 200, 500, 1000, 1000];

export async function waitForPortUp(host: Handle, port: VethEnd): Promise<void> {
  let state = "unknown";
  for (const delay of POLL_DELAYS_MS) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const link = host.linkByIndex(port.index);
    if (link.operState === "up") return;
    state = link.operState;
  }
  throw failure(`bridge port in error state: ${state}`, `${port.name} did not come up`);
}

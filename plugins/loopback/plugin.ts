// loopback: brings `lo` up in the container's namespace, with the reference plugin's behaviour.
// CNI_IFNAME is ignored: the plugin always works on `lo`.

import { CniError, ErrorCode } from "../../cni/errors";
import type { AddRequest, CheckRequest, DelRequest, PluginCommands } from "../../cni/plugin";
import type { Result } from "../../cni/result";
import { hasErrorCode } from "../../native/binding";
import { type Handle, openHandle } from "../../native/netlink/handle";

const LOOPBACK = "lo";

async function withHandle<T>(netns: string, work: (handle: Handle) => T): Promise<T> {
  const handle = await openHandle(netns);
  try {
    return work(handle);
  } finally {
    handle.close();
  }
}

async function cmdAdd(request: AddRequest): Promise<Result> {
  const addresses = await withHandle(request.netns, (handle) => {
    const lo = handle.linkByName(LOOPBACK);
    handle.linkSetUp(lo.index);
    return handle.addrList({ linkIndex: lo.index });
  });
  const notLoopback = addresses.filter((a) => !isLoopbackAddress(a.address));
  if (notLoopback.length > 0) {
    const list = notLoopback.map((a) => `${a.address}/${a.prefixLength}`).join(", ");
    throw new CniError(ErrorCode.Internal, `${LOOPBACK} has non-loopback addresses`, list);
  }
  // Chained after another plugin: pass its result through untouched.
  if (request.prevResult !== undefined) return request.prevResult;

  const first = (family: 4 | 6) => addresses.find((a) => a.family === family);
  const ips = [first(4), first(6)]
    .filter((a) => a !== undefined)
    .map((a) => ({ address: `${a.address}/${a.prefixLength}`, interface: 0 }));
  return {
    interfaces: [{ name: LOOPBACK, mac: "00:00:00:00:00:00", sandbox: request.netns }],
    ips,
    routes: [],
    dns: {},
  };
}

async function cmdDel(request: DelRequest): Promise<void> {
  if (request.netns.state !== "present") return;
  try {
    await withHandle(request.netns.path, (handle) => handle.linkSetDown(handle.linkByName(LOOPBACK).index));
  } catch (error: unknown) {
    // The namespace vanished between the skeleton's probe and now: nothing left to do.
    if (hasErrorCode(error, "ENOENT")) return;
    throw error;
  }
}

async function cmdCheck(request: CheckRequest): Promise<void> {
  const lo = await withHandle(request.netns, (handle) => handle.linkByName(LOOPBACK));
  if (!lo.up) throw new CniError(ErrorCode.Internal, `${LOOPBACK} is down`);
}

function isLoopbackAddress(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

export const commands: PluginCommands = { add: cmdAdd, check: cmdCheck, del: cmdDel };

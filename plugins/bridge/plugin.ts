// The bridge plugin: the reference's bridge, key for key, on the shared skeleton. ADD is in add.ts,
// DEL in del.ts, CHECK in check.ts; GC and STATUS delegate to IPAM (and GC to masquerade).

import type { AddRequest, CheckRequest, DelRequest, GcRequest, PluginCommands, StatusRequest } from "../../cni/plugin";
import type { Result } from "../../cni/result";
import { Rollback } from "../../cni/rollback";
import { openHandle } from "../../native/netlink/handle";
import { addAttachment } from "./add";
import { checkAttachment } from "./check";
import { parseBridgeConfig } from "./config";
import { delAttachment } from "./del";
import { gcIpMasq } from "./ip-masq";

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

async function cmdDel(request: DelRequest): Promise<void> {
  // CNI_ARGS only matter to ADD (the MAC): a DEL is never refused over them.
  await delAttachment(request, parseBridgeConfig(request.config));
}

async function cmdCheck(request: CheckRequest): Promise<void> {
  await checkAttachment(request, parseBridgeConfig(request.config));
}

async function cmdStatus(request: StatusRequest): Promise<void> {
  const config = parseBridgeConfig(request.config);
  if (config.ipamType !== undefined) await request.invoke.status(config.ipamType);
}

/** IPAM's GC and the removal of masquerade rules of attachments no longer valid, each whatever the other does. */
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

// flannel: a meta plugin. It turns the node's lease (subnet.env) and its own config into a bridge +
// host-local config and delegates every verb to that plugin, as flannel-io/cni-plugin does: same
// keys, same generated config, same saved file under dataDir. When the delegate is this suite's
// bridge the chain runs in this one process (cni/invoke.ts).
//
// Beyond upstream: DEL forgets the saved config only once the delegate's DEL succeeded (upstream
// loses it on failure and leaks the pod's address), a failed ADD leaves no saved config behind (nor,
// once DEL ran, does one killed while saving it), CHECK replays the saved config, STATUS reports a
// missing subnet.env as "not ready" (code 50), and GC is forwarded and drops the saved configs of
// containers that no longer exist.

import { CniError, ErrorCode } from "../../cni/errors";
import { isObject, type JsonObject } from "../../cni/json";
import type { AddRequest, CheckRequest, DelRequest, GcRequest, PluginCommands, StatusRequest } from "../../cni/plugin";
import type { Result } from "../../cni/result";
import { type FlannelConf, parseFlannelConf } from "./config";
import { buildDelegateConfig, encodeDelegateConfig } from "./delegate-config";
import { goJson } from "./go-json";
import { ScratchDir } from "./scratch";
import { loadSubnetEnv, type SubnetEnv, SubnetEnvError } from "./subnet-env";

async function cmdAdd(request: AddRequest): Promise<Result> {
  const conf = parseFlannelConf(request.config);
  const delegate = buildDelegateConfig(conf, await requireSubnetEnv(conf));
  const bytes = encodeDelegateConfig(delegate.json);
  const scratch = new ScratchDir(conf.dataDir);
  request.logger.debug("delegate config", { type: delegate.type, path: scratch.pathOf(request.containerId) });
  try {
    await scratch.save(request.containerId, bytes);
  } catch (error: unknown) {
    const path = scratch.pathOf(request.containerId);
    throw new CniError(ErrorCode.IoFailure, `failed to save the delegate config ${path}`, describe(error), {
      cause: error,
    });
  }
  try {
    return await request.invoke.add(delegate.type, bytes);
  } catch (error: unknown) {
    // The delegate undid its own work; nothing is left for a DEL to replay.
    await scratch.remove(request.containerId).catch((removal: unknown) => {
      request.logger.warn("cannot remove the saved delegate config", { error: describe(removal) });
    });
    throw prefixed("failed to delegate add: ", error);
  }
}

async function cmdDel(request: DelRequest): Promise<void> {
  const scratch = new ScratchDir(parseFlannelConf(request.config).dataDir);
  const saved = await scratch.load(request.containerId);
  if (saved === undefined) {
    // Nothing saved: ADD never got as far as delegating (perhaps killed while saving), or DEL already ran.
    // Best effort: a pod must not stay terminating over a temporary file; GC removes it too.
    await scratch.removeInterruptedSaves(request.containerId).catch((error: unknown) => {
      request.logger.warn("cannot remove an interrupted save's temporary file", { error: describe(error) });
    });
    return;
  }
  const type = savedType(saved);
  if (type === undefined) {
    // As upstream: failing would keep the pod terminating forever; GC removes the file later.
    request.logger.warn("saved delegate config is not readable; nothing to replay", {
      path: scratch.pathOf(request.containerId),
    });
    return;
  }
  // The saved bytes, not today's subnet.env: they name the range the address came from.
  await request.invoke.del(type, saved);
  await scratch.remove(request.containerId);
}

async function cmdCheck(request: CheckRequest): Promise<void> {
  const conf = parseFlannelConf(request.config);
  const scratch = new ScratchDir(conf.dataDir);
  const saved = await scratch.load(request.containerId);
  const json = saved === undefined ? undefined : parseSaved(saved);
  const type = json?.["type"];
  if (json === undefined || typeof type !== "string") {
    throw new CniError(
      ErrorCode.Internal,
      `no usable saved delegate config for container ${request.containerId}`,
      scratch.pathOf(request.containerId),
    );
  }
  // The runtime's prevResult is in the current config's version, which the delegate must then speak.
  const raw = request.config.raw;
  const check = {
    ...json,
    ...(conf.cniVersion !== undefined ? { cniVersion: conf.cniVersion } : {}),
    ...(raw["prevResult"] !== undefined ? { prevResult: raw["prevResult"] } : {}),
  };
  await request.invoke.check(type, new TextEncoder().encode(goJson(check)));
}

async function status(request: StatusRequest): Promise<void> {
  const conf = parseFlannelConf(request.config);
  let env: SubnetEnv;
  try {
    env = await loadSubnetEnv(conf.subnetFile);
  } catch (error: unknown) {
    if (!(error instanceof SubnetEnvError)) throw error;
    throw new CniError(
      ErrorCode.NotAvailable,
      `failed to load flannel 'subnet.env' file: ${error.message}`,
      "the node's flannel daemon (flanneld or the tscni agent) writes this file once it holds a subnet " +
        "for this node; until then no pod can be added here. Check that daemon's log.",
      { cause: error },
    );
  }
  const delegate = buildDelegateConfig(conf, env);
  await request.invoke.status(delegate.type, encodeDelegateConfig(delegate.json));
}

/**
 * Forwards GC to the delegate with the config ADD would build today and the runtime's list of
 * valid attachments; once the delegate succeeded, drops the saved config of every container not
 * in that list (saved configs are per container, as upstream keys them). A file that cannot be
 * removed does not stop the others; the failures are reported together.
 */
async function gc(request: GcRequest): Promise<void> {
  const conf = parseFlannelConf(request.config);
  const scratch = new ScratchDir(conf.dataDir);
  const { containerIds, leftovers } = await scratch.list();
  const failures: string[] = [];
  const attempt = async (name: string, remove: () => Promise<void>) => {
    await remove().catch((error: unknown) => failures.push(`${name}: ${describe(error)}`));
  };
  for (const name of leftovers) await attempt(name, () => scratch.removeLeftover(name));

  const delegate = buildDelegateConfig(conf, await requireSubnetEnv(conf));
  const attachments = Object.fromEntries(
    ["cni.dev/valid-attachments", "cni.dev/attachments"]
      .filter((key) => Object.hasOwn(request.config.raw, key))
      .map((key) => [key, request.config.raw[key]]),
  );
  await request.invoke.gc(delegate.type, encodeDelegateConfig({ ...delegate.json, ...attachments }));

  if (request.validAttachments !== undefined) {
    const valid = new Set(request.validAttachments.map((attachment) => attachment.containerId));
    for (const containerId of containerIds.filter((id) => !valid.has(id))) {
      request.logger.info("removing the saved delegate config of a container that is gone", { containerId });
      await attempt(containerId, () => scratch.remove(containerId));
    }
  }
  if (failures.length > 0) {
    throw new CniError(
      ErrorCode.IoFailure,
      `cannot remove saved delegate configs in ${conf.dataDir}`,
      failures.join("; "),
    );
  }
}

/** subnet.env for ADD and GC, failing with upstream's message (the one users search for). */
async function requireSubnetEnv(conf: FlannelConf): Promise<SubnetEnv> {
  try {
    return await loadSubnetEnv(conf.subnetFile);
  } catch (error: unknown) {
    if (!(error instanceof SubnetEnvError)) throw error;
    // Missing is the node daemon not being ready yet: the runtime should simply retry. A file that
    // cannot be read is an I/O failure (upstream: 999); a corrupt one has no better code than 999.
    const code =
      error.problem === "missing"
        ? ErrorCode.TryAgainLater
        : error.problem === "unreadable"
          ? ErrorCode.IoFailure
          : ErrorCode.Internal;
    throw new CniError(
      code,
      `failed to load flannel 'subnet.env' file: ${error.message}. Check the flannel pod log for this node.`,
      "",
      { cause: error },
    );
  }
}

function parseSaved(bytes: Uint8Array): JsonObject | undefined {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

function savedType(bytes: Uint8Array): string | undefined {
  const type = parseSaved(bytes)?.["type"];
  return typeof type === "string" && type !== "" ? type : undefined;
}

function prefixed(prefix: string, error: unknown): CniError {
  if (error instanceof CniError)
    return new CniError(error.code, prefix + error.message, error.details, { cause: error });
  return new CniError(ErrorCode.Internal, prefix + describe(error), "", { cause: error });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const commands: PluginCommands = { add: cmdAdd, check: cmdCheck, del: cmdDel, gc, status };

// host-local IPAM: addresses from per-node ranges, reserved in a data directory shared with the
// reference host-local (disk-store.ts). ADD, DEL and CHECK behave as the reference's; GC and
// STATUS are ours (the reference has neither).

import type {
  Attachment,
  AddRequest,
  CheckRequest,
  DelRequest,
  GcRequest,
  PluginCommands,
  StatusRequest,
} from "../../cni/plugin";
import { CniError, ErrorCode } from "../../cni/errors";
import type { Dns, Result } from "../../cni/result";
import { formatAddress, parseAddress } from "./address";
import {
  AllocationError,
  allocate,
  exhaustedRangeSets,
  ownedBy,
  type Reservation,
  staleReservations,
} from "./allocator";
import { parseConfig, parseRequestedAddresses, parseStoreLocation, type StoreLocation } from "./config";
import { DataDirError, dataDirProblem, type DiskStore, openDiskStore } from "./disk-store";
import { readResolvConf } from "./dns";

async function cmdAdd(request: AddRequest): Promise<Result> {
  const config = parseConfig(request.config);
  const requested = parseRequestedAddresses(request.config, request.cniArgs, config.rangeSets);
  const dns = config.resolvConf === undefined ? {} : resolvConfDns(config.resolvConf);
  const owner = attachment(request);
  const ips = await withStore(config, true, (store) => allocate(store, config.rangeSets, owner, requested));
  request.logger.debug("reserved", { addresses: ips.map((ip) => ip.address) });
  return { interfaces: [], ips, routes: config.routes, dns };
}

/** Releases every address of the attachment, even when the ranges changed or no longer parse. */
async function cmdDel(request: DelRequest): Promise<void> {
  const owner = attachment(request);
  await withStore(parseStoreLocation(request.config), false, (store) =>
    releaseAll(store, ownedBy(store.reservations(), owner), `container ${owner.containerId}`),
  );
}

/**
 * As the reference: the attachment must hold an address. Beyond it, every address of prevResult
 * that lies in one of the range sets must be reserved for this attachment.
 */
async function cmdCheck(request: CheckRequest): Promise<void> {
  const config = parseConfig(request.config);
  const owner = attachment(request);
  const owned = ownedBy((await withStore(config, false, (store) => store.reservations())) ?? [], owner);
  if (owned.length === 0) {
    throw new CniError(
      ErrorCode.Internal,
      `host-local: Failed to find address added by container ${owner.containerId}`,
    );
  }
  for (const ip of request.prevResult?.ips ?? []) {
    const address = parseAddress(ip.address.slice(0, ip.address.indexOf("/")));
    if (address === undefined || !config.rangeSets.some((set) => set.contains(address))) continue;
    const text = formatAddress(address);
    if (!owned.some((reservation) => reservation.address === text)) {
      throw new CniError(
        ErrorCode.Internal,
        `host-local: ${text} is not reserved for container ${owner.containerId} interface ${owner.ifName}`,
      );
    }
  }
}

/**
 * Releases every reservation whose attachment is not in the valid list. Only files named by an
 * address are considered: the lock and the last_reserved_ip markers are never touched.
 */
async function gc(request: GcRequest): Promise<void> {
  const valid = request.validAttachments;
  if (valid === undefined) {
    request.logger.debug("GC without a list of valid attachments: nothing to collect");
    return;
  }
  await withStore(parseStoreLocation(request.config), false, (store) => {
    const reservations = store.reservations().filter((r) => parseAddress(r.address) !== undefined);
    const stale = staleReservations(reservations, valid);
    request.logger.debug("collecting", { addresses: stale.map((r) => r.address) });
    releaseAll(store, stale, "stale reservations");
  });
}

/** Code 50 when ADD cannot succeed: the data dir is unusable, or a range set has no address left. */
async function status(request: StatusRequest): Promise<void> {
  const config = parseConfig(request.config);
  const problem = dataDirProblem(config);
  if (problem !== undefined) throw new CniError(ErrorCode.NotAvailable, "host-local data dir is not usable", problem);
  let reservations: readonly Reservation[];
  try {
    reservations = (await withStore(config, false, (store) => store.reservations())) ?? [];
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CniError(ErrorCode.NotAvailable, "host-local data dir is not usable", message, { cause: error });
  }
  const exhausted = exhaustedRangeSets(reservations, config.rangeSets);
  if (exhausted.length > 0) {
    throw new CniError(
      ErrorCode.NotAvailable,
      `no IP addresses available in range set: ${exhausted.map((i) => String(config.rangeSets[i])).join("; ")}`,
      `exhausted range sets (by index): ${exhausted.join(", ")}`,
    );
  }
}

const attachment = (request: Attachment): Attachment => ({ containerId: request.containerId, ifName: request.ifName });

function resolvConfDns(path: string): Dns {
  try {
    return readResolvConf(path);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CniError(ErrorCode.IoFailure, `ipam.resolvConf: cannot read ${path}`, message, { cause: error });
  }
}

/** Releases each reservation, going on past failures, then reports them together. */
function releaseAll(store: DiskStore, reservations: readonly Reservation[], what: string): void {
  const failures: string[] = [];
  for (const reservation of reservations) {
    try {
      store.release(reservation.address);
    } catch (error: unknown) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failures.length > 0) throw new CniError(ErrorCode.IoFailure, `failed to release ${what}`, failures.join("; "));
}

/**
 * Runs `work` on the network's locked store, then unlocks. Without `create`, a network directory
 * that does not exist gives undefined and is not created.
 */
async function withStore<T>(location: StoreLocation, create: true, work: (store: DiskStore) => T): Promise<T>;
async function withStore<T>(
  location: StoreLocation,
  create: false,
  work: (store: DiskStore) => T,
): Promise<T | undefined>;
async function withStore<T>(
  location: StoreLocation,
  create: boolean,
  work: (store: DiskStore) => T,
): Promise<T | undefined> {
  let store: DiskStore | undefined;
  try {
    store = await openDiskStore(location, create);
    return store === undefined ? undefined : work(store);
  } catch (error: unknown) {
    if (error instanceof DataDirError) throw new CniError(ErrorCode.IoFailure, error.message, "", { cause: error });
    if (error instanceof AllocationError) throw new CniError(ErrorCode.Internal, error.message, "", { cause: error });
    throw error;
  } finally {
    store?.close();
  }
}

export const commands: PluginCommands = { add: cmdAdd, check: cmdCheck, del: cmdDel, gc, status };

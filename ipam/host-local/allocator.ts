// Allocation over a Store: one address per range set, round-robin after the set's last reserved
// address, all or nothing. Also the selections DEL, CHECK and GC make among reservations. The
// store is narrow (list, reserve, release, the last-reserved markers) so that this logic runs the
// same against the on-disk store and an in-memory one in unit tests; the caller holds the lock.
//
// Fixes over the reference: a repeated ADD is refused also when it requests an address; rolling
// back releases only what this ADD reserved (the reference releases every reservation of the
// attachment, including older ones); requested addresses go to range sets in the order given (the
// reference picks at random when two fall in one set).

import type { Attachment } from "../../cni/plugin";
import type { IpConfig } from "../../cni/result";
import { type Address, formatAddress, parseAddress } from "./address";
import type { RangeSet } from "./range-set";

/** One reserved address; `ifName` is undefined in the old format that held only the container ID. */
export interface Reservation {
  /** The address as the store names it (canonical text). */
  readonly address: string;
  readonly containerId: string;
  readonly ifName: string | undefined;
}

export interface Store {
  /** Every reservation of the network, old-format ones included. */
  reservations(): readonly Reservation[];
  /** Reserves `address` for `owner`; false when it is already taken. */
  reserve(address: string, owner: Attachment): boolean;
  release(address: string): void;
  /** The last address reserved from range set `index`, as recorded (unvalidated text). */
  lastReserved(index: number): string | undefined;
  recordLastReserved(index: number, address: string): void;
}

/** Allocation failed; nothing this allocation reserved is left behind. */
export class AllocationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AllocationError";
  }
}

/**
 * Reserves one address from each range set for `owner`, requested addresses where they fall in a
 * set, and returns them in set order. Throws AllocationError with the reference's messages.
 */
export function allocate(
  store: Store,
  rangeSets: readonly RangeSet[],
  owner: Attachment,
  requested: readonly Address[],
): IpConfig[] {
  const existing = store.reservations();
  const taken = new Set(existing.map((r) => r.address));
  // Old-format reservations of the container count too, as in the reference.
  const alreadyOwned = existing.filter(
    (r) => r.containerId === owner.containerId && (r.ifName === owner.ifName || r.ifName === undefined),
  );
  const unplaced = [...requested];
  const reserved: string[] = [];
  try {
    const ips = rangeSets.map((set, index) =>
      allocateFromSet(store, set, index, owner, {
        taken,
        reserved,
        alreadyOwned,
        requested: takeFirst(unplaced, (address) => set.contains(address)),
      }),
    );
    if (unplaced.length > 0) {
      throw new AllocationError(`failed to allocate all requested IPs: ${unplaced.map(formatAddress).join(" ")}`);
    }
    return ips;
  } catch (error: unknown) {
    for (const address of reserved) {
      try {
        store.release(address);
      } catch {
        // The allocation's own error is the one to report; a reservation left behind is reclaimed by
        // DEL (the runtime runs it after a failed ADD) or GC.
      }
    }
    throw error;
  }
}

interface SetContext {
  readonly taken: Set<string>;
  /** What this allocation reserved so far, to release if it fails. */
  readonly reserved: string[];
  readonly alreadyOwned: readonly Reservation[];
  readonly requested: Address | undefined;
}

function allocateFromSet(store: Store, set: RangeSet, index: number, owner: Attachment, context: SetContext): IpConfig {
  const failed = (reason: string): AllocationError =>
    new AllocationError(`failed to allocate for range ${index}: ${reason}`);
  const duplicate = context.alreadyOwned.find((r) => inSet(set, r.address));
  if (duplicate !== undefined) {
    throw failed(
      `${duplicate.address} has been allocated to ${owner.containerId}, duplicate allocation is not allowed`,
    );
  }

  const reserveAt = (address: Address): string | undefined => {
    const text = formatAddress(address);
    if (context.taken.has(text) || !store.reserve(text, owner)) return undefined;
    context.taken.add(text);
    context.reserved.push(text);
    store.recordLastReserved(index, text);
    return text;
  };
  const result = (text: string, address: Address): IpConfig => {
    const range = set.rangeFor(address)!;
    return { address: `${text}/${range.prefixLength}`, gateway: formatAddress(range.address(range.gateway)) };
  };

  const wanted = context.requested;
  if (wanted !== undefined) {
    const range = set.rangeFor(wanted)!;
    if (wanted.value === range.gateway) throw failed(`requested ip ${formatAddress(wanted)} is subnet's gateway`);
    if (!range.isAllocatable(wanted.value)) {
      throw failed(`requested ip ${formatAddress(wanted)} is the network or broadcast address`);
    }
    const text = reserveAt(wanted);
    if (text === undefined) {
      throw failed(`requested IP address ${formatAddress(wanted)} is not available in range set ${set}`);
    }
    return result(text, wanted);
  }

  const last = store.lastReserved(index);
  for (const { range, from, to } of set.walk(last === undefined ? undefined : parseAddress(last.trim()))) {
    for (let value = from; value <= to; value++) {
      if (!range.isAllocatable(value)) continue;
      const address = range.address(value);
      const text = reserveAt(address);
      if (text !== undefined) return result(text, address);
    }
  }
  throw failed(`no IP addresses available in range set: ${set}`);
}

/**
 * The reservations of one attachment. Old-format reservations (container ID only) count only when
 * no current-format one matches, as the reference releases them.
 */
export function ownedBy(reservations: readonly Reservation[], owner: Attachment): Reservation[] {
  const current = reservations.filter((r) => r.containerId === owner.containerId && r.ifName === owner.ifName);
  if (current.length > 0) return current;
  return reservations.filter((r) => r.containerId === owner.containerId && r.ifName === undefined);
}

/**
 * GC: the reservations whose attachment is not in `valid`. An old-format reservation stays while
 * any valid attachment has its container ID.
 */
export function staleReservations(reservations: readonly Reservation[], valid: readonly Attachment[]): Reservation[] {
  const attachments = new Set(valid.map((a) => attachmentKey(a.containerId, a.ifName)));
  const containers = new Set(valid.map((a) => a.containerId));
  return reservations.filter((r) =>
    r.ifName === undefined ? !containers.has(r.containerId) : !attachments.has(attachmentKey(r.containerId, r.ifName)),
  );
}

/** STATUS: the range sets with no address left (indexes). */
export function exhaustedRangeSets(reservations: readonly Reservation[], rangeSets: readonly RangeSet[]): number[] {
  const addresses = reservations.map((r) => parseAddress(r.address)).filter((a) => a !== undefined);
  return rangeSets.flatMap((set, index) => {
    const used = addresses.filter((a) => set.rangeFor(a)?.isAllocatable(a.value) === true).length;
    return BigInt(used) >= set.capacity() ? [index] : [];
  });
}

// Container IDs and interface names cannot hold a newline (the skeleton validates both).
const attachmentKey = (containerId: string, ifName: string): string => `${containerId}\n${ifName}`;

function inSet(set: RangeSet, text: string): boolean {
  const address = parseAddress(text);
  return address !== undefined && set.contains(address);
}

/** Removes and returns the first element matching `predicate`. */
function takeFirst<T>(items: T[], predicate: (item: T) => boolean): T | undefined {
  const index = items.findIndex(predicate);
  return index === -1 ? undefined : items.splice(index, 1)[0];
}

// An in-memory Store for allocator tests: the same contract as the on-disk store, and a record of
// what was written so tests can assert on it.

import type { Attachment } from "../../../../../cni/plugin";
import type { Reservation, Store } from "../../../../../ipam/host-local/allocator";

export class MemoryStore implements Store {
  readonly entries = new Map<string, { containerId: string; ifName: string | undefined }>();
  readonly last = new Map<number, string>();

  /** Seeds reservations: "10.0.0.2" -> "id" (old format) or ["id", "eth0"]. */
  constructor(seed: Readonly<Record<string, string | readonly [string, string]>> = {}, last: readonly string[] = []) {
    for (const [address, owner] of Object.entries(seed)) {
      this.entries.set(
        address,
        typeof owner === "string"
          ? { containerId: owner, ifName: undefined }
          : { containerId: owner[0], ifName: owner[1] },
      );
    }
    last.forEach((address, index) => this.last.set(index, address));
  }

  reservations(): Reservation[] {
    return [...this.entries].map(([address, owner]) => ({ address, ...owner }));
  }

  reserve(address: string, owner: Attachment): boolean {
    if (this.entries.has(address)) return false;
    this.entries.set(address, { containerId: owner.containerId, ifName: owner.ifName });
    return true;
  }

  release(address: string): void {
    this.entries.delete(address);
  }

  lastReserved(index: number): string | undefined {
    return this.last.get(index);
  }

  recordLastReserved(index: number, address: string): void {
    this.last.set(index, address);
  }

  /** The addresses held by `containerId`, sorted as inserted. */
  addressesOf(containerId: string): string[] {
    return [...this.entries].filter(([, owner]) => owner.containerId === containerId).map(([address]) => address);
  }
}

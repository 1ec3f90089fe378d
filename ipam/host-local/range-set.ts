// Ranges and range sets, after validation (config.ts). A range is an inclusive [start, end] inside
// one subnet; a range set is an ordered list of ranges of one family, and yields one address per
// ADD. Candidates are walked round-robin: after the last address reserved in the set, through the
// end of its range, on through the following ranges, wrapping around, and that address last.
// The walk is a list of stretches rather than a generator: JavaScriptCore compiles the generator
// machinery from JavaScript source at first use (about 185 thousand instructions per process).

import type { IpFamily } from "../../native/netlink/ip";
import { type Address, formatAddress } from "./address";

/** What a range is made of; config.ts computes the defaults. */
export type RangeFields = Pick<Range, "family" | "network" | "prefixLength" | "last" | "start" | "end" | "gateway">;

export class Range {
  readonly family: IpFamily;
  /** The subnet's network address and prefix length. */
  readonly network: bigint;
  readonly prefixLength: number;
  /** The last address of the subnet (the IPv4 broadcast). */
  readonly last: bigint;
  readonly start: bigint;
  readonly end: bigint;
  /** Reported as the gateway of addresses from this range; may lie outside it. */
  readonly gateway: bigint;

  constructor(fields: RangeFields) {
    this.family = fields.family;
    this.network = fields.network;
    this.prefixLength = fields.prefixLength;
    this.last = fields.last;
    this.start = fields.start;
    this.end = fields.end;
    this.gateway = fields.gateway;
  }

  contains(address: Address): boolean {
    return address.family === this.family && address.value >= this.start && address.value <= this.end;
  }

  /**
   * Whether an address of the range may be handed out: never the gateway, and never the network
   * address or the IPv4 broadcast, which the reference hands out when rangeStart/rangeEnd name them.
   */
  isAllocatable(value: bigint): boolean {
    return value !== this.gateway && value !== this.network && !(this.family === 4 && value === this.last);
  }

  /** How many addresses the range can hand out. */
  capacity(): bigint {
    const excluded = new Set([this.gateway, this.network, ...(this.family === 4 ? [this.last] : [])]);
    let size = this.end - this.start + 1n;
    for (const value of excluded) if (value >= this.start && value <= this.end) size--;
    return size;
  }

  overlaps(other: Range): boolean {
    return this.family === other.family && this.start <= other.end && other.start <= this.end;
  }

  address(value: bigint): Address {
    return { family: this.family, value };
  }

  /** "start-end", as the reference prints ranges in its errors. */
  toString(): string {
    return `${formatAddress(this.address(this.start))}-${formatAddress(this.address(this.end))}`;
  }
}

/** Part of a walk over a range set: the addresses [from, to] of one range, to try in order. */
export interface Stretch {
  readonly range: Range;
  readonly from: bigint;
  readonly to: bigint;
}

export class RangeSet {
  readonly ranges: readonly Range[];

  /** `ranges`: non-empty, one family, not overlapping (config.ts checks). */
  constructor(ranges: readonly Range[]) {
    this.ranges = ranges;
  }

  get family(): IpFamily {
    return this.ranges[0]!.family;
  }

  rangeFor(address: Address): Range | undefined {
    return this.ranges.find((range) => range.contains(address));
  }

  contains(address: Address): boolean {
    return this.rangeFor(address) !== undefined;
  }

  overlaps(other: RangeSet): boolean {
    return this.ranges.some((a) => other.ranges.some((b) => a.overlaps(b)));
  }

  capacity(): bigint {
    return this.ranges.reduce((sum, range) => sum + range.capacity(), 0n);
  }

  /**
   * Every address of the set once, round-robin after `lastReserved` (which comes last). Without
   * it, or when it is no longer in the set (the config changed), from the start of the first range.
   * The caller skips what a range does not hand out (Range.isAllocatable).
   */
  walk(lastReserved: Address | undefined): Stretch[] {
    const resumeIn = lastReserved === undefined ? -1 : this.ranges.findIndex((r) => r.contains(lastReserved));
    if (lastReserved === undefined || resumeIn === -1) {
      return this.ranges.map((range) => ({ range, from: range.start, to: range.end }));
    }
    const current = this.ranges[resumeIn]!;
    const stretches: Stretch[] = [{ range: current, from: lastReserved.value + 1n, to: current.end }];
    for (let k = 1; k < this.ranges.length; k++) {
      const range = this.ranges[(resumeIn + k) % this.ranges.length]!;
      stretches.push({ range, from: range.start, to: range.end });
    }
    stretches.push({ range: current, from: current.start, to: lastReserved.value });
    return stretches;
  }

  toString(): string {
    return this.ranges.join(",");
  }
}

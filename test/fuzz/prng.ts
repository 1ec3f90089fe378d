// A seeded pseudo-random generator, so that every fuzz case is reproducible from (seed, index)
// alone: each case gets its own stream, derived from both numbers, and never depends on the cases
// generated before it. sfc32 seeded through splitmix32: small, fast and the same on every engine
// (32-bit integer arithmetic only).

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(seedWords: readonly number[]) {
    [this.a, this.b, this.c, this.d] = seedWords.map((w) => w >>> 0) as [number, number, number, number];
    for (let i = 0; i < 12; i++) this.next();
  }

  /** The stream of case `index` of run `seed`. */
  static forCase(seed: number, index: number): Prng {
    const mix = splitmix32(seed ^ Math.imul(index + 1, 0x27d4eb2d));
    const words = [mix(), mix() ^ index, mix() ^ seed, mix()];
    return new Prng(words);
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Picks by weight: [[3, "a"], [1, "b"]] gives "a" three times as often. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((sum, [weight]) => sum + weight, 0);
    let point = this.float() * total;
    for (const [weight, item] of entries) {
      point -= weight;
      if (point < 0) return item;
    }
    return entries[entries.length - 1]![1];
  }

  /** A string of `length` characters drawn from `alphabet` (an array, so astral characters count as one). */
  string(alphabet: readonly string[], length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += this.pick(alphabet);
    return out;
  }
}

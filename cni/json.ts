// Reading untrusted JSON: values arrive as `unknown` and are checked once, with the offending key
// named in the error.

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value of the wrong shape at `path` (e.g. "ipam.ranges[0]"). */
export class JsonShapeError extends Error {
  readonly path: string;

  constructor(path: string, expected: string, actual: unknown) {
    super(`${path}: expected ${expected}, got ${describe(actual)}`);
    this.name = "JsonShapeError";
    this.path = path;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);

/** Typed access to the fields of one JSON object, with path-aware errors. */
export class JsonReader {
  readonly object: JsonObject;
  readonly path: string;

  constructor(value: unknown, path = "") {
    if (!isObject(value)) throw new JsonShapeError(path === "" ? "(root)" : path, "an object", value);
    this.object = value;
    this.path = path;
  }

  has(key: string): boolean {
    return this.object[key] !== undefined && this.object[key] !== null;
  }

  /** The raw value; JSON null counts as absent, as Go's decoder treats it. */
  raw(key: string): unknown {
    const value = this.object[key];
    return value === null ? undefined : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === "string") return value;
    throw new JsonShapeError(join(this.path, key), "a string", value);
  }

  boolean(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === "boolean") return value;
    throw new JsonShapeError(join(this.path, key), "a boolean", value);
  }

  /** An integer within [min, max]. */
  integer(key: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new JsonShapeError(join(this.path, key), `an integer from ${min} to ${max}`, value);
  }

  stringArray(key: string): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
    throw new JsonShapeError(join(this.path, key), "an array of strings", value);
  }

  /** A nested object, as a reader. */
  child(key: string): JsonReader | undefined {
    const value = this.raw(key);
    return value === undefined ? undefined : new JsonReader(value, join(this.path, key));
  }

  /** An array, each element handed to `item` with its own path. */
  array<T>(key: string, item: (value: unknown, path: string) => T): T[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw new JsonShapeError(join(this.path, key), "an array", value);
    return value.map((v, i) => item(v, `${join(this.path, key)}[${i}]`));
  }

  requireString(key: string): string {
    const value = this.string(key);
    if (value === undefined) throw new JsonShapeError(join(this.path, key), "a string", undefined);
    return value;
  }
}

/**
 * Go's encoding/json refuses values nested deeper than this (its scanner's maxNestingDepth). A
 * config nested deeper is refused at the edge, before code that walks configs recursively (a
 * delegate config's encoder) overflows its stack.
 */
export const MAX_NESTING_DEPTH = 10_000;

/**
 * Why Go's decoder would refuse a value JSON.parse took, or undefined: nesting beyond
 * MAX_NESTING_DEPTH, or a number beyond a 64-bit float (JSON.parse makes 1e400 Infinity, which
 * no key can mean and which a re-encoded delegate config would turn into null). Without recursion.
 */
export function undecodableProblem(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node === "number" && !Number.isFinite(node)) return "a number overflows a 64-bit float";
    if (typeof node !== "object" || node === null) continue;
    if (depth > MAX_NESTING_DEPTH) return `exceeded max depth of ${MAX_NESTING_DEPTH}`;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

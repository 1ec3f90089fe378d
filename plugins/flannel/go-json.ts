// JSON text as Go's encoding/json writes it, so the delegate config flannel saves is byte for byte
// what the upstream plugin saves for the same input: maps (plain objects here) with their keys
// sorted, structs (GoStruct here) with their fields in declaration order, compact, and "<", ">",
// "&", U+2028 and U+2029 escaped inside strings.

/** An object encoded with its keys in insertion order, as Go encodes a struct. */
export class GoStruct {
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(fields: Readonly<Record<string, unknown>>) {
    this.fields = fields;
  }
}

export function goJson(value: unknown): string {
  if (value instanceof GoStruct) return encodeObject(Object.entries(value.fields));
  if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    // Go sorts by byte order; for the UTF-16 code units of JavaScript strings that differs only
    // beyond the Basic Multilingual Plane, which no CNI config key uses.
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return encodeObject(entries);
  }
  if (typeof value === "string") return encodeString(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return JSON.stringify(value);
  throw new TypeError(`cannot encode ${typeof value} as JSON`);
}

function encodeObject(entries: readonly (readonly [string, unknown])[]): string {
  const members = entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeString(k)}:${goJson(v)}`);
  return `{${members.join(",")}}`;
}

const GO_ESCAPES: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function encodeString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

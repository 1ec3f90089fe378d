// JSON text for fuzz inputs, which JSON.stringify cannot write: numbers as literally written
// ("-0", "1e400", "9007199254740993"), verbatim fragments, and objects with a key twice.

/** Text written as is, e.g. `-0` or `1e400` or an unterminated fragment. */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** An object whose entries are written in order, repeated keys included. */
export class Entries {
  readonly entries: readonly (readonly [string, unknown])[];
  constructor(entries: readonly (readonly [string, unknown])[]) {
    this.entries = entries;
  }
}

/** Serializes a value that may hold Raw and Entries anywhere, indented like a runtime's config. */
export function toJsonText(value: unknown, indent = 2): string {
  return write(value, indent, 0);
}

function write(value: unknown, indent: number, depth: number): string {
  if (value instanceof Raw) return value.text;
  const pad = (level: number): string => (indent === 0 ? "" : `\n${" ".repeat(indent * level)}`);
  const colon = indent === 0 ? ":" : ": ";
  const block = (open: string, items: string[], close: string): string =>
    items.length === 0
      ? `${open}${close}`
      : `${open}${items.map((item) => `${pad(depth + 1)}${item}`).join(",")}${pad(depth)}${close}`;
  if (value instanceof Entries) {
    return block(
      "{",
      value.entries.map(([key, v]) => `${JSON.stringify(key)}${colon}${write(v, indent, depth + 1)}`),
      "}",
    );
  }
  if (Array.isArray(value))
    return block(
      "[",
      value.map((v) => write(v, indent, depth + 1)),
      "]",
    );
  if (typeof value === "object" && value !== null) {
    return write(new Entries(Object.entries(value)), indent, depth);
  }
  // Deep structures are built as Raw text, so plain recursion stays shallow here.
  return JSON.stringify(value) ?? "null";
}

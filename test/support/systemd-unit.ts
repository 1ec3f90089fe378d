// A systemd unit file as the tests read it: `[Section]` headers and `Key=Value` lines, comments
// (`#`, `;`) and blank lines skipped, a key given several times keeping every value.

export interface UnitFile {
  /** Every value of the key in the section, in file order. */
  all(section: string, key: string): string[];
  /** The key's single value; throws when it is missing or repeated. */
  one(section: string, key: string): string;
}

export function parseUnitFile(text: string): UnitFile {
  const entries: { section: string; key: string; value: string }[] = [];
  let section = "";
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1] ?? "";
      continue;
    }
    const equals = line.indexOf("=");
    if (equals <= 0 || section === "") throw new SyntaxError(`unit line ${index + 1}: ${line}`);
    entries.push({ section, key: line.slice(0, equals).trim(), value: line.slice(equals + 1).trim() });
  }
  const all = (s: string, k: string) => entries.filter((e) => e.section === s && e.key === k).map((e) => e.value);
  return {
    all,
    one(s, k) {
      const values = all(s, k);
      if (values.length !== 1) throw new Error(`[${s}] ${k}: ${values.length} values`);
      return values[0]!;
    },
  };
}

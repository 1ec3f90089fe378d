// CNI_ARGS: "K1=V1;K2=V2". Each plugin names the keys it understands; any other key is an error
// unless IgnoreUnknown is true, as in the reference's types.LoadArgs.

import { CniError, ErrorCode } from "./errors";

// The variable is only parsed by plugins that read it: like the reference, a plugin that takes no
// arguments (loopback) accepts any CNI_ARGS.
export class CniArgs {
  /** The variable as the runtime set it. */
  readonly raw: string;

  constructor(raw: string) {
    this.raw = raw;
  }

  /**
   * The values of the known keys (code 4 for a malformed variable). Unknown keys are an error
   * unless IgnoreUnknown is "1" or "true" (any case), which is itself always known.
   */
  load<K extends string>(known: readonly K[]): Partial<Record<K, string>> {
    const pairs = this.pairs();
    // Read first, as the reference parses it like any field: a bad value fails even without unknown keys.
    const ignore = ignoreUnknown(pairs);
    const values: Partial<Record<K, string>> = {};
    const unknown: string[] = [];
    for (const [key, value] of pairs) {
      if (key === "IgnoreUnknown") continue;
      if ((known as readonly string[]).includes(key)) values[key as K] = value;
      else unknown.push(`${key}=${value}`);
    }
    if (unknown.length > 0 && !ignore) {
      throw invalid(`unknown args ${JSON.stringify(unknown)}`);
    }
    return values;
  }

  /** Splits the variable; a pair without exactly one "=" is an error. */
  private pairs(): Map<string, string> {
    const pairs = new Map<string, string>();
    if (this.raw === "") return pairs;
    for (const pair of this.raw.split(";")) {
      const parts = pair.split("=");
      if (parts.length !== 2) throw invalid(`invalid pair ${JSON.stringify(pair)}`);
      pairs.set(parts[0] ?? "", parts[1] ?? "");
    }
    return pairs;
  }
}

function ignoreUnknown(pairs: ReadonlyMap<string, string>): boolean {
  const value = pairs.get("IgnoreUnknown");
  if (value === undefined) return false;
  switch (value.toLowerCase()) {
    case "1":
    case "true":
      return true;
    case "0":
    case "false":
      return false;
    default:
      throw invalid(`IgnoreUnknown must be 1, true, 0 or false, not ${JSON.stringify(value)}`);
  }
}

function invalid(message: string): CniError {
  return new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_ARGS: ${message}`);
}

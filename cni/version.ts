// CNI specification versions: which exist, how they compare, and what each one allows.

export const SPEC_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

/** The newest version this suite implements, reported as `cniVersion` by VERSION. */
export const CURRENT_VERSION: SpecVersion = "1.1.0";

/** A config without `cniVersion` is treated as 0.1.0, as libcni and skel do. */
export const DEFAULT_CONFIG_VERSION: SpecVersion = "0.1.0";

export function isSpecVersion(value: string): value is SpecVersion {
  return (SPEC_VERSIONS as readonly string[]).includes(value);
}

/** Compares "x.y.z" versions numerically; throws RangeError for anything else. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function parseVersion(version: string): number[] {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new RangeError(`invalid version ${JSON.stringify(version)}`);
  return version.split(".").map(Number);
}

export const versionAtLeast = (version: SpecVersion, minimum: SpecVersion): boolean =>
  compareVersions(version, minimum) >= 0;

/** The result shapes of the spec: 0.1/0.2 (ip4/ip6), 0.3.x/0.4 (ips with version), 1.x. */
export type ResultFamily = "0.2" | "0.4" | "1.x";

export function resultFamily(version: SpecVersion): ResultFamily {
  if (compareVersions(version, "0.3.0") < 0) return "0.2";
  if (compareVersions(version, "1.0.0") < 0) return "0.4";
  return "1.x";
}

export interface VersionInfo {
  readonly cniVersion: SpecVersion;
  readonly supportedVersions: readonly SpecVersion[];
}

/** The VERSION reply; a trailing newline as Go's json.Encoder writes one. */
export function encodeVersionInfo(supportedVersions: readonly SpecVersion[]): string {
  const info: VersionInfo = { cniVersion: CURRENT_VERSION, supportedVersions };
  return `${JSON.stringify(info)}\n`;
}

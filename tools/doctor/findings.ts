// What the doctor's checks work on: the state the inspection found, and the verdict helpers.

import type { CheckResult, DoctorReport } from "./report";

/** What a bridge network expects of its bridge (see inspect-cni.ts). */
export interface BridgeExpectation {
  readonly network: string;
  readonly bridge: string;
  readonly mtu: number | undefined;
  readonly gateways: readonly string[];
}

/** What the inspection found: the report's state, plus what only the checks need. */
export interface Findings extends Pick<
  DoctorReport,
  "subnetEnv" | "networks" | "bridges" | "vxlanDevices" | "peers" | "ipam" | "forwarding" | "brNetfilter"
> {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  /** Unreadable files and invalid plugin configurations. */
  readonly configProblems: readonly string[];
  readonly configWarnings: readonly string[];
  readonly expectations: readonly BridgeExpectation[];
  readonly forwardingUnavailable: readonly string[];
}

export const ok = (id: CheckResult["id"], summary: string): CheckResult => ({ id, status: "ok", summary, details: [] });
export const skip = (id: CheckResult["id"], summary: string): CheckResult => ({
  id,
  status: "skip",
  summary,
  details: [],
});

export const usesFlannel = (f: Findings): boolean =>
  f.networks.some((n) => n.plugins.some((p) => p.type === "flannel"));

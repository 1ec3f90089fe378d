// Runs firewall operations in the network namespace this process is in. The tests start it with
// `ip netns exec <test ns> node --import tsx entry.ts '<json>'`, since the code under test acts on
// its own namespace. The argument is a list of operations run in order; one JSON line is printed
// per operation, and the first failure ends the run with status 1 and its error as JSON.

import {
  gcMasquerade,
  type MasqueradeBackendName,
  setupMasquerade,
  teardownMasquerade,
} from "../../../firewall/masquerade";
import type { MasqueradeTarget } from "../../../firewall/masquerade";
import { ensureOverlayRules, type OverlayRulesConfig, removeOverlayRules } from "../../../firewall/overlay-rules";
import { detectBackends, FirewallToolError } from "../../../firewall/tools";

export type Operation =
  | { readonly op: "setup"; readonly backend?: MasqueradeBackendName; readonly target: MasqueradeTarget }
  | { readonly op: "teardown"; readonly target: MasqueradeTarget }
  | { readonly op: "gc"; readonly network: string; readonly valid: { containerId: string; ifName: string }[] }
  | { readonly op: "ensureOverlay"; readonly config: OverlayRulesConfig }
  | { readonly op: "removeOverlay" }
  | { readonly op: "detect" };

async function perform(operation: Operation): Promise<unknown> {
  switch (operation.op) {
    case "setup":
      return setupMasquerade(operation.backend, operation.target);
    case "teardown":
      return teardownMasquerade(operation.target);
    case "gc":
      return gcMasquerade(operation.network, operation.valid);
    case "ensureOverlay":
      return ensureOverlayRules(operation.config);
    case "removeOverlay":
      return removeOverlayRules();
    case "detect":
      return detectBackends();
  }
}

const operations = JSON.parse(process.argv[2] ?? "[]") as Operation[];
for (const operation of operations) {
  try {
    console.log(JSON.stringify({ op: operation.op, result: (await perform(operation)) ?? null }));
  } catch (error: unknown) {
    const e = error instanceof Error ? error : new Error(String(error));
    const tool = e instanceof FirewallToolError ? { exitStatus: e.exitStatus, stderr: e.stderr } : {};
    console.log(JSON.stringify({ op: operation.op, error: { name: e.name, message: e.message, ...tool } }));
    process.exit(1);
  }
}

// The fuzz generator (test/fuzz/): reproducible cases, well-formed expectations, and the safety
// rules that keep every case inside the worker that runs it. The oracle's rules are spot-checked
// against the spec's examples.

import { expect } from "chai";

import { either, fails, type FuzzCase, succeeds } from "../../fuzz/fuzz-case";
import { generateCase, goRefuses, MODELS } from "../../fuzz/generator";
import { Raw } from "../../fuzz/json-text";
import { cniArgsOutcome } from "../../fuzz/models/cni-args";
import { versionOutcome } from "../../fuzz/models/common";
import { ifNameOutcome } from "../../fuzz/models/env";
import { hostLocal } from "../../fuzz/models/host-local";
import { integerVerdict } from "../../fuzz/models/model";

const SAMPLE = 3000;

function parsedConfig(fuzzCase: FuzzCase): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fuzzCase.stdin));
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isWorkerPath = (value: unknown): boolean =>
  typeof value === "string" && value !== "" && (!value.startsWith("/") || value.startsWith("@@"));

describe("fuzz case generator", () => {
  const cases = Array.from({ length: SAMPLE }, (_, i) => generateCase(7, i, MODELS));

  it("makes the same case from the same (seed, index), and another from another", () => {
    expect(generateCase(7, 123, MODELS)).to.deep.equal(cases[123]);
    expect(generateCase(8, 123, MODELS)).to.not.deep.equal(cases[123]);
    expect(new Set(cases.map((c) => c.description)).size).to.be.above(SAMPLE / 3);
  });

  it("covers every plugin, verb and mutation family", () => {
    expect(new Set(cases.map((c) => c.plugin))).to.deep.equal(new Set(MODELS.map((m) => m.name)));
    expect(new Set(cases.map((c) => c.family))).to.deep.equal(new Set(["env", "key", "structure", "bytes", "valid"]));
    expect(new Set(cases.map((c) => c.env["CNI_COMMAND"]))).to.include.members(["ADD", "DEL", "CHECK", "GC", "STATUS"]);
  });

  it("gives every error a code and every environment value a form execve takes", () => {
    for (const c of cases) {
      if (c.expect.kind === "error" || c.expect.kind === "either")
        expect(c.expect.codes, c.description).to.not.be.empty;
      for (const value of Object.values(c.env)) {
        expect(value.includes("\0"), c.description).to.equal(false);
        expect(new TextEncoder().encode(value).length, c.description).to.be.below(128 * 1024);
      }
    }
  });

  it("never points a plugin at the node's data dirs or subnet.env, whatever the case expects", () => {
    // A path key absent or null means the node's default; of another type, the config is refused.
    const safe = (value: unknown): boolean =>
      typeof value === "string" ? isWorkerPath(value) : value !== undefined && value !== null;
    for (const c of cases) {
      const config = parsedConfig(c);
      if (config === undefined) continue;
      const ipam = config["ipam"];
      const usesHostLocal =
        c.plugin === "host-local" ||
        c.plugin === "flannel" ||
        (c.plugin === "bridge" &&
          typeof ipam === "object" &&
          ipam !== null &&
          (ipam as Record<string, unknown>)["type"] === "host-local");
      if (usesHostLocal && typeof ipam === "object" && ipam !== null && !Array.isArray(ipam)) {
        expect(safe((ipam as Record<string, unknown>)["dataDir"]), c.description).to.equal(true);
      }
      if (c.plugin === "flannel") {
        expect(safe(config["dataDir"]), c.description).to.equal(true);
        expect(safe(config["subnetFile"]), c.description).to.equal(true);
      }
    }
  });

  it("makes any config Go's decoder refuses (1e400, nesting beyond 10000) a decoding failure", () => {
    const text = (t: string) => new TextEncoder().encode(t);
    expect(goRefuses(text('{"a":[1, -1e400]}'))).to.equal(true);
    expect(goRefuses(text(`{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`))).to.equal(true);
    expect(goRefuses(text(`{"a":${"[".repeat(9_999)}${"]".repeat(9_999)}}`))).to.equal(false);
    // A repeated key's first value is gone once parsed, in JSON.parse as in the plugin.
    expect(goRefuses(text('{"a":1e400,"a":1}'))).to.equal(false);
    const refused = cases.filter((c) => goRefuses(c.stdin));
    expect(refused).to.not.be.empty;
    for (const c of refused) expect(c.expect, c.description).to.deep.equal(fails(6));
  });

  it("never names the runner's own namespace (only the plugin's, through /proc/self)", () => {
    for (const c of cases) expect(c.env["CNI_NETNS"] ?? "", c.description).to.not.match(/^\/proc\/1\//);
  });
});

describe("fuzz oracle", () => {
  it("reads interface names as the reference and the kernel do", () => {
    expect(ifNameOutcome("eth0")).to.deep.equal(succeeds);
    expect(ifNameOutcome("ééééééé")).to.deep.equal(succeeds);
    for (const name of ["", "a/b", "eth0:1", "eth 0", ".", "..", "eth0123456789abc", "eth%d", "brà", "eth\u0085"]) {
      expect(ifNameOutcome(name), name).to.deep.equal(fails(4));
    }
    expect(ifNameOutcome("eth\ufeff")).to.deep.equal(either(4));
  });

  it("reads CNI_ARGS as types.LoadArgs does", () => {
    expect(cniArgsOutcome("", hostLocal)).to.deep.equal(succeeds);
    expect(cniArgsOutcome("IgnoreUnknown=1;K8S_POD_NAME=x", hostLocal)).to.deep.equal(succeeds);
    for (const text of ["K=V;", "a", "a=b=c", "K8S_POD_NAME=x", "IgnoreUnknown=maybe", "IP=10.0.0.300"]) {
      expect(cniArgsOutcome(text, hostLocal), text).to.deep.equal(fails(4));
    }
  });

  it("takes integers as written: -0 is 0, 1e400 is no integer, 1e2 is one only to JavaScript", () => {
    expect(integerVerdict(new Raw("-0"), 0, 10)).to.deep.equal(succeeds);
    expect(integerVerdict(new Raw("9007199254740993"), 0, Number.MAX_SAFE_INTEGER)).to.deep.equal(fails(7));
    expect(integerVerdict(new Raw("1e2"), 0, 1000)).to.deep.equal(either(7));
  });

  it("needs 0.4.0 for CHECK and 1.1.0 for GC and STATUS; no version is 0.1.0", () => {
    expect(versionOutcome(undefined, "ADD")).to.deep.equal(succeeds);
    expect(versionOutcome("", "CHECK")).to.deep.equal(fails(1));
    expect(versionOutcome("1.0.0", "GC")).to.deep.equal(fails(1));
    expect(versionOutcome("1.1.0", "STATUS")).to.deep.equal(succeeds);
    expect(versionOutcome("1.0", "ADD")).to.deep.equal(fails(1));
  });
});

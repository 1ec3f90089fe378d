// Delegation to a plugin found in CNI_PATH: exec'd, or run in the same process when the file found
// is the suite's own binary. Both paths must give identical results and errors.

import { expect } from "chai";
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

import { processRunner } from "../../../cni/exec";
import { TestNetns } from "../../helpers/netns";
import { runOk } from "../../helpers/run";
import { pluginPath, REPO_ROOT, scratchDir, suiteDir } from "../../helpers/suite";

// The fixture runs under Bun, the runtime of the shipped binary, so both paths share one engine.
const BUN = join(REPO_ROOT, "node_modules/.bin/bun");
const DELEGATE = join(REPO_ROOT, "test/fixtures/delegation/delegate.ts");

interface Outcome {
  readonly ok: boolean;
  readonly execs: number;
  readonly [key: string]: unknown;
}

describe("delegation", () => {
  let host: TestNetns;
  let pod: TestNetns;

  beforeEach(() => {
    host = TestNetns.create("host");
    pod = TestNetns.create("pod");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
  });

  const delegate = (mode: "in-process" | "exec", request: Record<string, unknown>): Outcome =>
    JSON.parse(
      runOk("ip", ["netns", "exec", host.name, BUN, DELEGATE, mode, pluginPath("tscni")], {
        input: JSON.stringify(request),
      }),
    ) as Outcome;

  const request = (command: string, config: unknown, env: Record<string, string> = {}, type = "loopback") => ({
    command,
    type,
    configVersion: "1.0.0",
    stdin: typeof config === "string" ? config : JSON.stringify(config),
    env: {
      PATH: "/usr/bin:/bin",
      CNI_CONTAINERID: "ctr-1",
      CNI_NETNS: pod.path,
      CNI_IFNAME: "eth0",
      CNI_PATH: suiteDir(),
      ...env,
    },
  });

  const config = (cniVersion: string) => ({ cniVersion, name: "lo-net", type: "loopback" });

  /** Each case's expected outcome: success, or the CNI error code. */
  const cases: {
    readonly title: string;
    readonly expected: "ok" | number;
    readonly make: () => Record<string, unknown>;
  }[] = [
    { title: "ADD 1.0.0", expected: "ok", make: () => request("ADD", config("1.0.0")) },
    { title: "ADD 0.2.0", expected: "ok", make: () => request("ADD", config("0.2.0")) },
    { title: "CHECK", expected: "ok", make: () => request("CHECK", config("1.0.0")) },
    { title: "DEL", expected: "ok", make: () => request("DEL", config("1.0.0")) },
    {
      title: "DEL with the namespace gone",
      expected: "ok",
      make: () => request("DEL", config("1.0.0"), { CNI_NETNS: "/run/netns/gone" }),
    },
    { title: "invalid JSON", expected: 6, make: () => request("ADD", '{"cniVersion":') },
    { title: "unsupported version", expected: 1, make: () => request("ADD", config("7.0.0")) },
    {
      title: "missing namespace",
      expected: 3,
      make: () => request("ADD", config("1.0.0"), { CNI_NETNS: "/run/netns/gone" }),
    },
    { title: "bad ifname", expected: 4, make: () => request("ADD", config("1.0.0"), { CNI_IFNAME: "a/b" }) },
    {
      title: "plugin not in CNI_PATH",
      expected: 4,
      make: () => request("ADD", config("1.0.0"), {}, "no-such-plugin"),
    },
  ];

  for (const { title, expected, make } of cases) {
    it(`gives identical outcomes in-process and by exec: ${title}`, () => {
      // CHECK needs lo up, as after an ADD.
      pod.ip("link", "set", "lo", "up");
      const viaExec = delegate("exec", make());
      pod.ip("link", "set", "lo", "up");
      const inProcess = delegate("in-process", make());
      const { execs: execCount, ...execOutcome } = viaExec;
      const { execs: inProcessExecs, ...inProcessOutcome } = inProcess;
      if (expected === "ok") expect(execOutcome["ok"], JSON.stringify(execOutcome)).to.equal(true);
      else expect(execOutcome["code"], JSON.stringify(execOutcome)).to.equal(expected);
      expect(inProcessOutcome).to.deep.equal(execOutcome);
      expect(execCount).to.equal(title === "plugin not in CNI_PATH" ? 0 : 1);
      expect(inProcessExecs, "the in-process path must not exec").to.equal(0);
    });
  }

  it("gives identical errors for a link whose name the binary does not provide", () => {
    const link = join(suiteDir(), "not-a-plugin");
    symlinkSync("tscni", link);
    try {
      const viaExec = delegate("exec", request("ADD", config("1.0.0"), {}, "not-a-plugin"));
      const inProcess = delegate("in-process", request("ADD", config("1.0.0"), {}, "not-a-plugin"));
      expect(viaExec.ok).to.equal(false);
      expect(viaExec["code"]).to.equal(4);
      const { execs: _e, ...a } = viaExec;
      const { execs: _i, ...b } = inProcess;
      expect(b).to.deep.equal(a);
    } finally {
      rmSync(link);
    }
  });

  it("execs a plugin that is not the suite's binary (the reference loopback) either way", () => {
    const dir = scratchDir("reference-path");
    try {
      mkdirSync(dir, { recursive: true });
      symlinkSync("/usr/lib/cni/loopback", join(dir, "loopback"));
      const make = () => request("ADD", config("1.0.0"), { CNI_PATH: dir });
      const viaExec = delegate("exec", make());
      const inProcess = delegate("in-process", make());
      expect(viaExec.ok, JSON.stringify(viaExec)).to.equal(true);
      expect(inProcess.execs).to.equal(1);
      expect(inProcess["result"]).to.deep.equal(viaExec["result"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("exec of a delegate", () => {
  it("retries while the plugin file is busy being written (ETXTBSY), then runs it", async () => {
    const dir = scratchDir("etxtbsy");
    const plugin = join(dir, "busy-plugin");
    try {
      // An installer is still writing the file: exec fails with ETXTBSY until it closes it.
      const writer = openSync(plugin, "w", 0o755);
      writeSync(writer, '#!/bin/sh\necho \'{"cniVersion":"1.0.0"}\'\n');
      chmodSync(plugin, 0o755);
      const running = processRunner.run(plugin, { PATH: "/usr/bin:/bin" }, new Uint8Array());
      setTimeout(() => closeSync(writer), 300);
      const output = await running;
      expect(output.exitCode).to.equal(0);
      expect(JSON.parse(output.stdout)).to.deep.equal({ cniVersion: "1.0.0" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

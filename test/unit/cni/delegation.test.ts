// Delegation (cni/invoke.ts) as a plugin sees it through the skeleton: the delegate gets the same
// stdin bytes and environment with only CNI_COMMAND replaced, and its reply is read as libcni
// reads it (result of any version, error JSON with its code, stderr fallbacks).

import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { findInPath } from "../../../cni/exec";
import type { PluginOutput } from "../../../cni/invoke";
import type { PluginCommands } from "../../../cni/plugin";
import { emptyResult, type Result } from "../../../cni/result";
import {
  attachmentEnv,
  CNI_PATH,
  type DelegateCall,
  expectErrorReply,
  expectSuccess,
  FakePlugin,
  FakeRunner,
  invoke,
} from "./support/harness";
import { RICH_DECODED, RICH_JSON } from "./support/results";

const reply = (output: Partial<PluginOutput>) => (): PluginOutput => ({
  exitCode: 0,
  stdout: "",
  stderr: "",
  ...output,
});

/** A plugin that delegates every verb to "host-local" and returns the delegate's ADD result. */
const delegating = (): FakePlugin =>
  new FakePlugin({
    add: (request) => request.invoke.add("host-local"),
    check: (request) => request.invoke.check("host-local"),
    del: (request) => request.invoke.del("host-local"),
    gc: (request) => request.invoke.gc("host-local"),
    status: (request) => request.invoke.status("host-local"),
  });

const STDIN = '{"cniVersion":"1.0.0",  "name":"test-net","type":"fake", "ipam": {"type": "host-local"}}\n';

describe("delegation", () => {
  for (const verb of ["ADD", "CHECK", "DEL", "GC", "STATUS"]) {
    it(`${verb}: same stdin bytes, same environment, CNI_COMMAND=${verb}`, async () => {
      const runner = new FakeRunner(reply({ stdout: verb === "ADD" ? '{"cniVersion":"1.1.0"}' : "" }));
      const env = {
        ...attachmentEnv(verb),
        CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web-0",
        CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
        PATH: "/usr/bin",
        TSCNI_LOG_LEVEL: "error",
      };
      const stdin = STDIN.replace("1.0.0", "1.1.0");
      const outcome = await invoke(delegating(), { env, stdin, runner });
      expectSuccess(outcome, verb === "ADD" ? { cniVersion: "1.1.0" } : undefined);
      expect(runner.calls).to.have.lengthOf(1);
      const call = runner.calls[0] as DelegateCall;
      expect(call.path).to.equal("/opt/cni/bin/host-local");
      expect(call.env).to.deep.equal(env);
      expect(new TextDecoder().decode(call.stdin)).to.equal(stdin);
    });
  }

  it("replaces CNI_COMMAND for a verb other than the plugin's own (ADD rolling back with DEL)", async () => {
    const runner = new FakeRunner();
    const plugin = new FakePlugin({
      add: async (request) => {
        await request.invoke.del("host-local");
        return emptyResult();
      },
    });
    await invoke(plugin, { env: attachmentEnv("ADD"), stdin: STDIN, runner });
    expect(runner.calls.map((call) => call.env["CNI_COMMAND"])).to.deep.equal(["DEL"]);
  });

  it("passes other stdin when the plugin gives it (flannel's generated delegate config)", async () => {
    const runner = new FakeRunner(reply({ stdout: "{}" }));
    const own = new TextEncoder().encode('{"cniVersion":"1.0.0","name":"cbr0","type":"bridge"}');
    const plugin = new FakePlugin({ add: (request) => request.invoke.add("bridge", own) });
    await invoke(plugin, { env: attachmentEnv("ADD"), stdin: STDIN, runner });
    expect(runner.calls[0]?.stdin).to.equal(own);
  });

  it("copies a successful delegate's stderr to the plugin's stderr, never to stdout", async () => {
    const runner = new FakeRunner(reply({ stdout: '{"cniVersion":"1.0.0"}', stderr: "allocated 10.22.0.5\n" }));
    const outcome = await invoke(delegating(), { env: attachmentEnv("ADD"), stdin: STDIN, runner });
    expectSuccess(outcome, { cniVersion: "1.0.0" });
    expect(outcome.stderr).to.deep.equal(["allocated 10.22.0.5"]);
  });

  describe("results of other versions", () => {
    it("reads a 0.2.0 reply under a 1.0.0 config and prints it as 1.0.0", async () => {
      const runner = new FakeRunner(reply({ stdout: JSON.stringify(RICH_JSON["0.2.0"]) }));
      const outcome = await invoke(delegating(), { env: attachmentEnv("ADD"), stdin: STDIN, runner });
      expectSuccess(outcome, {
        cniVersion: "1.0.0",
        ips: [
          { address: "10.22.0.5/24", gateway: "10.22.0.1" },
          { address: "fd00:22::5/64", gateway: "fd00:22::1" },
        ],
        routes: RICH_JSON["1.0.0"]["routes"],
        dns: RICH_JSON["1.0.0"]["dns"],
      });
    });

    it("reads a 1.1.0 reply under a 0.4.0 config and prints it as 0.4.0", async () => {
      const runner = new FakeRunner(reply({ stdout: JSON.stringify(RICH_JSON["1.1.0"]) }));
      const stdin = STDIN.replace("1.0.0", "0.4.0");
      const outcome = await invoke(delegating(), { env: attachmentEnv("ADD"), stdin, runner });
      expectSuccess(outcome, RICH_JSON["0.4.0"]);
    });

    it("reads a reply without cniVersion in the config's version", async () => {
      const { cniVersion: _, ...withoutVersion } = RICH_JSON["0.3.1"];
      let received: Result | undefined;
      const plugin = new FakePlugin({
        add: async (request) => (received = await request.invoke.add("host-local")),
      });
      const runner = new FakeRunner(reply({ stdout: JSON.stringify(withoutVersion) }));
      await invoke(plugin, { env: attachmentEnv("ADD"), stdin: STDIN.replace("1.0.0", "0.3.1"), runner });
      expect(received).to.deep.equal(RICH_DECODED["0.4"]);
    });
  });

  describe("failures", () => {
    const failures: readonly (readonly [string, Partial<PluginOutput>, number, string, string?])[] = [
      [
        "its error JSON, code and details kept",
        { exitCode: 1, stdout: '{"cniVersion":"0.4.0","code":7,"msg":"no IP ranges","details":"ipam.ranges"}' },
        7,
        "no IP ranges",
        "ipam.ranges",
      ],
      [
        "its error JSON without details",
        { exitCode: 1, stdout: '{\n    "code": 11,\n    "msg": "lock busy"\n}\n' },
        11,
        "lock busy",
      ],
      [
        "its error JSON despite stderr",
        { exitCode: 1, stdout: '{"code":3,"msg":"gone"}', stderr: "debug line" },
        3,
        "gone",
      ],
      [
        "an empty stdout and an empty stderr",
        { exitCode: 2 },
        999,
        "netplugin failed with no error message: exit status 2",
      ],
      [
        "an empty stdout and some stderr",
        { exitCode: 1, stderr: 'panic: runtime error\n\tmain.go:12 "x"\n' },
        999,
        'netplugin failed: "panic: runtime error\\n\\tmain.go:12 \\"x\\""',
      ],
      [
        "garbage on stdout",
        { exitCode: 1, stdout: "Segmentation fault\n" },
        999,
        'netplugin failed but error parsing its diagnostic message "Segmentation fault"',
      ],
      [
        "JSON on stdout that is no error",
        { exitCode: 1, stdout: '{"cniVersion":"1.0.0","ips":[]}' },
        999,
        'netplugin failed but error parsing its diagnostic message "{\\"cniVersion\\":\\"1.0.0\\",\\"ips\\":[]}"',
      ],
    ];
    for (const verb of ["ADD", "DEL"]) {
      for (const [title, output, code, msg, details] of failures) {
        it(`${verb}: a delegate failing with ${title} → code ${code}`, async () => {
          const runner = new FakeRunner(reply(output));
          const outcome = await invoke(delegating(), { env: attachmentEnv(verb), stdin: STDIN, runner });
          expectErrorReply(outcome, { cniVersion: "1.0.0", code, msg, ...(details !== undefined ? { details } : {}) });
          expect(outcome.stderr, "a failed delegate's stderr is only in the message").to.deep.equal([]);
        });
      }
    }

    const invalidResults: readonly (readonly [string, string, string, string?])[] = [
      ["an empty stdout", "", "plugin host-local returned a result that is not JSON"],
      ["garbage", "10.22.0.5/24", "plugin host-local returned a result that is not JSON", "10.22.0.5/24"],
      [
        "an invalid result",
        '{"cniVersion":"1.0.0","ips":[{"address":"10.22.0.5"}]}',
        "plugin host-local returned an invalid result",
        'invalid CIDR "10.22.0.5"',
      ],
      [
        "a result of an unknown version",
        '{"cniVersion":"2.0.0"}',
        "plugin host-local returned an invalid result",
        'unsupported result version "2.0.0"',
      ],
    ];
    for (const [title, stdout, msg, details] of invalidResults) {
      it(`ADD: a delegate succeeding with ${title} → code 6`, async () => {
        const runner = new FakeRunner(reply({ stdout }));
        const outcome = await invoke(delegating(), { env: attachmentEnv("ADD"), stdin: STDIN, runner });
        expectErrorReply(outcome, { cniVersion: "1.0.0", code: 6, msg, ...(details !== undefined ? { details } : {}) });
      });
    }

    it("DEL, CHECK, GC and STATUS ignore a delegate's empty stdout", async () => {
      for (const verb of ["CHECK", "DEL"]) {
        const outcome = await invoke(delegating(), {
          env: attachmentEnv(verb),
          stdin: STDIN,
          runner: new FakeRunner(),
        });
        expectSuccess(outcome);
      }
      for (const verb of ["GC", "STATUS"]) {
        const stdin = STDIN.replace("1.0.0", "1.1.0");
        const outcome = await invoke(delegating(), {
          env: { CNI_COMMAND: verb, CNI_PATH },
          stdin,
          runner: new FakeRunner(),
        });
        expectSuccess(outcome);
      }
    });
  });

  describe("finding the delegate in CNI_PATH", () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), "tscni-unit-path-"));
      for (const dir of ["a", "b"]) mkdirSync(join(root, dir));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    const delegateWith = async (cniPath: string, behaviour: Partial<PluginCommands> = {}) => {
      const runner = new FakeRunner(reply({ stdout: "{}" }));
      const plugin = new FakePlugin({ add: (request) => request.invoke.add("host-local"), ...behaviour });
      const outcome = await invoke(plugin, {
        env: { ...attachmentEnv("ADD"), CNI_PATH: cniPath },
        stdin: STDIN,
        runner,
        find: findInPath,
      });
      return { runner, outcome };
    };

    it("a plugin in no CNI_PATH directory → code 4 naming the directories", async () => {
      const { runner, outcome } = await delegateWith(`${root}/a:${root}/b`);
      expectErrorReply(outcome, {
        cniVersion: "1.0.0",
        code: 4,
        msg: `failed to find plugin "host-local" in path [${root}/a ${root}/b]`,
      });
      expect(runner.calls).to.deep.equal([]);
    });

    it("the first directory holding a regular file wins; directories and empty entries are skipped", async () => {
      mkdirSync(join(root, "a", "host-local"));
      writeFileSync(join(root, "b", "host-local"), "");
      const { runner, outcome } = await delegateWith(`::${root}/a::${root}/b:`);
      expect(outcome.exitCode).to.equal(0);
      expect(runner.calls.map((call) => call.path)).to.deep.equal([join(root, "b", "host-local")]);
    });

    for (const [type, msg] of [
      ["../host-local", "invalid plugin name: ../host-local"],
      ["", "no plugin name provided"],
    ] as const) {
      it(`a delegate type ${JSON.stringify(type)} → code 7 "${msg}"`, async () => {
        const { outcome } = await delegateWith(`${root}/a`, { add: (request) => request.invoke.add(type) });
        expectErrorReply(outcome, { cniVersion: "1.0.0", code: 7, msg });
      });
    }
  });
});

// CNI_NETNS: ADD and CHECK need the container's namespace and never the plugin's own (unless
// CNI_NETNS_OVERRIDE); DEL succeeds whatever became of it and tells the plugin which case it is.

import { expect } from "chai";

import type { NetnsProbeResult } from "../../../cni/skel";
import { attachmentEnv, config, expectErrorReply, expectSuccess, FakePlugin, invoke } from "./support/harness";

const PATH = "/run/netns/probed";

const run = async (verb: string, found: NetnsProbeResult, env: Record<string, string> = {}) => {
  const plugin = new FakePlugin();
  const outcome = await invoke(plugin, {
    env: { ...attachmentEnv(verb), CNI_NETNS: PATH, ...env },
    stdin: config("1.0.0"),
    netns: { [PATH]: found },
  });
  return { plugin, outcome };
};

describe("CNI_NETNS", () => {
  for (const verb of ["ADD", "CHECK"]) {
    describe(verb, () => {
      it("runs the plugin in a namespace", async () => {
        const { plugin, outcome } = await run(verb, "netns");
        expectSuccess(outcome, verb === "ADD" ? { cniVersion: "1.0.0" } : undefined);
        expect(plugin.onlyCall().request).to.have.property("netns", PATH);
        expect(outcome.probed).to.deep.equal([PATH]);
      });

      const refused: readonly (readonly [NetnsProbeResult, number, string, string])[] = [
        ["missing", 3, "CNI_NETNS does not exist", PATH],
        ["not-netns", 4, "CNI_NETNS is not a network namespace", PATH],
        [
          "own-netns",
          4,
          "CNI_NETNS is the plugin's own network namespace",
          `${PATH}; set CNI_NETNS_OVERRIDE=1 if this is intended`,
        ],
      ];
      for (const [found, code, msg, details] of refused) {
        it(`refuses a path that is ${found} with code ${code}`, async () => {
          const { plugin, outcome } = await run(verb, found);
          expectErrorReply(outcome, { cniVersion: "1.0.0", code, msg, details });
          expect(plugin.calls).to.deep.equal([]);
        });
      }

      for (const override of ["1", "true", "TRUE"]) {
        it(`accepts its own namespace with CNI_NETNS_OVERRIDE=${override}`, async () => {
          const { plugin, outcome } = await run(verb, "own-netns", { CNI_NETNS_OVERRIDE: override });
          expect(outcome.exitCode).to.equal(0);
          expect(plugin.onlyCall().request).to.have.property("netns", PATH);
        });
      }

      for (const override of ["0", "yes", ""]) {
        it(`still refuses its own namespace with CNI_NETNS_OVERRIDE=${JSON.stringify(override)}`, async () => {
          const { outcome } = await run(verb, "own-netns", { CNI_NETNS_OVERRIDE: override });
          expect(outcome.json).to.have.property("code", 4);
        });
      }

      it("refuses a relative path with code 4 without looking at it", async () => {
        const { outcome } = await run(verb, "netns", { CNI_NETNS: "run/netns/pod" });
        expectErrorReply(outcome, {
          cniVersion: "1.0.0",
          code: 4,
          msg: "CNI_NETNS must be an absolute path",
          details: "run/netns/pod",
        });
        expect(outcome.probed).to.deep.equal([]);
      });

      it("probes only after the identifiers are valid", async () => {
        const { outcome } = await run(verb, "netns", { CNI_IFNAME: "a/b" });
        expect(outcome.json).to.have.property("code", 4);
        expect(outcome.probed).to.deep.equal([]);
      });
    });
  }

  describe("DEL", () => {
    const cases: readonly (readonly [string, NetnsProbeResult, Record<string, string>, unknown, readonly string[]])[] =
      [
        ["a namespace is present", "netns", {}, { state: "present", path: PATH }, [PATH]],
        ["a missing path is gone", "missing", {}, { state: "gone", path: PATH }, [PATH]],
        ["a path that is no namespace is gone", "not-netns", {}, { state: "gone", path: PATH }, [PATH]],
        [
          "its own namespace is gone (a reused /proc/<pid>/ns/net)",
          "own-netns",
          {},
          { state: "gone", path: PATH },
          [PATH],
        ],
        [
          "its own namespace with CNI_NETNS_OVERRIDE=1 is present",
          "own-netns",
          { CNI_NETNS_OVERRIDE: "1" },
          { state: "present", path: PATH },
          [PATH],
        ],
        ["a relative path is gone, unprobed", "netns", { CNI_NETNS: "pod" }, { state: "gone", path: "pod" }, []],
        ["an empty CNI_NETNS is unspecified (containerd)", "netns", { CNI_NETNS: "" }, { state: "unspecified" }, []],
      ];
    for (const [title, found, env, netns, probed] of cases) {
      it(`succeeds: ${title}`, async () => {
        const { plugin, outcome } = await run("DEL", found, env);
        expectSuccess(outcome);
        expect(plugin.onlyCall().request).to.have.deep.property("netns", netns);
        expect(outcome.probed).to.deep.equal(probed);
      });
    }

    it("succeeds with CNI_NETNS unset", async () => {
      const { CNI_NETNS: _, ...env } = attachmentEnv("DEL");
      const plugin = new FakePlugin();
      const outcome = await invoke(plugin, { env, stdin: config("1.0.0") });
      expectSuccess(outcome);
      expect(plugin.onlyCall().request).to.have.deep.property("netns", { state: "unspecified" });
    });

    it("warns on stderr (never stdout) when CNI_NETNS is its own namespace", async () => {
      const { outcome } = await run("DEL", "own-netns");
      expect(outcome.stdout).to.deep.equal([]);
      expect(outcome.stderr).to.have.lengthOf(1);
      expect(JSON.parse(outcome.stderr[0] ?? "")).to.deep.include({
        level: "warn",
        message: "CNI_NETNS is the plugin's own namespace; cleaning up as if it were gone",
        netns: PATH,
        plugin: "fake",
        command: "DEL",
        containerId: "ctr-1",
      });
    });
  });

  it("a probe that fails is an internal error (999) with its message", async () => {
    const plugin = new FakePlugin();
    const denied = Object.assign(new Error("EACCES: permission denied, stat '/run/netns/pod'"), { code: "EACCES" });
    const outcome = await invoke(plugin, {
      env: attachmentEnv("ADD"),
      stdin: config("1.0.0"),
      netns: { "/run/netns/pod": denied },
    });
    expectErrorReply(outcome, {
      cniVersion: "1.0.0",
      code: 999,
      msg: "EACCES: permission denied, stat '/run/netns/pod'",
    });
    expect(plugin.calls).to.deep.equal([]);
  });
});

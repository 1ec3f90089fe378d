// The installed multi-call binary: one file, one link per plugin, dispatch on argv[0].

import { expect } from "chai";
import { lstatSync, mkdtempSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { SPEC_VERSIONS } from "../../../cni/version";
import { callPlugin } from "../../helpers/cni-exec";
import { run, runOk } from "../../helpers/run";
import { pluginPath, REPO_ROOT, suiteDir } from "../../helpers/suite";

const installedPlugins = (): string[] => runOk(pluginPath("tscni"), ["plugins"]).trim().split("\n");

describe("multi-call binary", () => {
  it("make install PREFIX=<dir> installs the binary and a link per plugin name", () => {
    const dir = mkdtempSync(join(tmpdir(), "tscni-install-"));
    try {
      runOk("make", ["-s", "-C", REPO_ROOT, "install", `PREFIX=${dir}/opt/cni/bin`]);
      const plugins = installedPlugins();
      expect(plugins).to.include("loopback");
      for (const plugin of plugins) {
        const link = join(dir, "opt/cni/bin", plugin);
        expect(lstatSync(link).isSymbolicLink(), plugin).to.equal(true);
        expect(readlinkSync(link)).to.equal("tscni");
      }
      // Installing again over a live installation replaces it without error.
      runOk("make", ["-s", "-C", REPO_ROOT, "install", `PREFIX=${dir}/opt/cni/bin`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers VERSION on every plugin name with 0.1.0 through 1.1.0, ignoring stdin", () => {
    for (const plugin of installedPlugins()) {
      const reply = callPlugin({ plugin: pluginPath(plugin), command: "VERSION", stdin: "not json" });
      expect(reply.status, plugin).to.equal(0);
      expect(reply.json).to.deep.equal({ cniVersion: "1.1.0", supportedVersions: [...SPEC_VERSIONS] });
    }
  });

  it("prints the about text on stderr, and nothing on stdout, when CNI_COMMAND is unset", () => {
    const result = run(pluginPath("loopback"), [], { env: { PATH: "/usr/bin:/bin" } });
    expect(result.status).to.equal(0);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.match(/^CNI loopback plugin tscni v\d+\.\d+\.\d+\n/);
    expect(result.stderr).to.contain(
      "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0",
    );
  });

  it("offers --help and --version on every name", () => {
    const version = runOk(pluginPath("loopback"), ["--version"]).trim();
    expect(version).to.match(/^\d+\.\d+\.\d+$/);
    expect(runOk(pluginPath("tscni"), ["--version"]).trim()).to.equal(version);
    expect(runOk(pluginPath("loopback"), ["--help"])).to.contain("CNI_COMMAND");
    const bad = run(pluginPath("tscni"), ["--bogus-flag"]);
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.contain("bogus-flag");
  });

  it("rejects a name it does not provide, clearly, in CNI mode and on the command line", () => {
    const unknown = join(suiteDir(), "no-such-plugin");
    symlinkSync("tscni", unknown);
    try {
      const reply = callPlugin({ plugin: unknown, command: "ADD", config: { cniVersion: "1.0.0", name: "n" } });
      expect(reply.status).to.equal(1);
      expect(reply.json?.["code"]).to.equal(4);
      expect(reply.json?.["msg"]).to.equal('unknown plugin name "no-such-plugin"');
      expect(reply.json?.["details"]).to.contain("loopback");
      const cli = run(unknown, []);
      expect(cli.status).to.equal(1);
      expect(cli.stderr).to.contain('unknown plugin name "no-such-plugin"');
    } finally {
      rmSync(unknown);
    }
  });
});

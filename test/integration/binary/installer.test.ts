// `tscni install`, the DaemonSet installer: the layout `make install` makes, atomic replacement of
// a plugin that is running (no "text file busy"), idempotency, file modes, the network config.

import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  closeSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { TestNetns } from "../../helpers/netns";
import { run, type RunResult } from "../../helpers/run";
import { BUILT_BINARY, REFERENCE_PLUGINS, REPO_ROOT, scratchDir } from "../../helpers/suite";

const PLUGINS = ["bridge", "flannel", "host-local", "loopback"];
const FLANNEL_CONFLIST = join(REPO_ROOT, "conf/10-flannel.conflist");

function installer(args: readonly string[], shellPrefix = ""): RunResult {
  const command = [BUILT_BINARY, "install", ...args].map((a) => `'${a}'`).join(" ");
  return run("sh", ["-c", `${shellPrefix}exec ${command}`], { env: { PATH: "/usr/bin:/bin" } });
}

function installOk(args: readonly string[], shellPrefix = ""): RunResult {
  const result = installer(args, shellPrefix);
  expect(result.status, result.stderr).to.equal(0);
  return result;
}

/** What a directory holds: name, kind, permission bits, link target. */
function layout(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const stats = lstatSync(join(dir, name));
      const mode = (stats.mode & 0o7777).toString(8);
      return stats.isSymbolicLink() ? `${name} -> ${readlinkSync(join(dir, name))}` : `${name} file ${mode}`;
    });
}

const digest = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");
const inode = (path: string): number => lstatSync(path).ino;
const messages = (result: RunResult): string[] =>
  result.stderr
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { message: string }).message);

describe("tscni install (DaemonSet installer)", () => {
  let dir: string;

  beforeEach(() => {
    dir = scratchDir("installer");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("makes the layout `make install` makes: the binary, 0755, and one relative link per plugin", () => {
    const fromMake = join(dir, "make/opt/cni/bin");
    const fromInstaller = join(dir, "host/opt/cni/bin");
    run("make", ["-s", "-C", REPO_ROOT, "install", `PREFIX=${fromMake}`]);
    installOk(["--dest", fromInstaller]);
    expect(layout(fromInstaller)).to.deep.equal(["tscni file 755", ...PLUGINS.map((p) => `${p} -> tscni`)].sort());
    expect(layout(fromInstaller)).to.deep.equal(layout(fromMake));
    expect(digest(join(fromInstaller, "tscni"))).to.equal(digest(BUILT_BINARY));
    expect(readdirSync(fromInstaller).filter((name) => name.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("is idempotent: a second run rewrites nothing and says so", () => {
    const dest = join(dir, "bin");
    const confDir = join(dir, "net.d");
    const args = ["--dest", dest, "--conflist", FLANNEL_CONFLIST, "--conf-dir", confDir];
    expect(messages(installOk(args)).filter((m) => m.startsWith("created "))).to.have.length(PLUGINS.length + 2);
    const before = [...readdirSync(dest).map((n) => inode(join(dest, n))), inode(join(confDir, "10-flannel.conflist"))];
    const again = messages(installOk(args));
    expect(again.filter((m) => m.startsWith("unchanged "))).to.have.length(PLUGINS.length + 2);
    expect(again).to.include("everything was in place");
    expect([
      ...readdirSync(dest).map((n) => inode(join(dest, n))),
      inode(join(confDir, "10-flannel.conflist")),
    ]).to.deep.equal(before);
  });

  it("replaces what differs: another binary, a reference plugin file, a link elsewhere", () => {
    const dest = join(dir, "bin");
    mkdirSync(dest);
    copyFileSync(join(REFERENCE_PLUGINS, "loopback"), join(dest, "tscni"));
    copyFileSync(join(REFERENCE_PLUGINS, "bridge"), join(dest, "bridge"));
    symlinkSync("/usr/lib/cni/host-local", join(dest, "host-local"));
    const logs = installOk(["--dest", dest]).stderr;
    expect(layout(dest)).to.deep.equal(["tscni file 755", ...PLUGINS.map((p) => `${p} -> tscni`)].sort());
    expect(digest(join(dest, "tscni"))).to.equal(digest(BUILT_BINARY));
    expect(logs).to.contain(`"message":"replaced ${dest}/bridge","previous":"file"`);
    expect(logs).to.contain(`"message":"replaced ${dest}/host-local","previous":"link to /usr/lib/cni/host-local"`);
  });

  describe("with a plugin of the previous installation running", () => {
    let pod: TestNetns;
    let plugin: ChildProcess | undefined;

    beforeEach(() => {
      pod = TestNetns.create("pod");
    });
    afterEach(async () => {
      if (plugin?.exitCode === null && plugin.signalCode === null) {
        plugin.kill("SIGKILL");
        await once(plugin, "exit");
      }
      pod.delete();
    });

    it("replaces it without ETXTBSY: the running one finishes, the next one is the new binary", async () => {
      // The previous installation: another build of `loopback` (the reference one) behind the same links.
      const dest = join(dir, "bin");
      mkdirSync(dest);
      copyFileSync(join(REFERENCE_PLUGINS, "loopback"), join(dest, "tscni"));
      symlinkSync("tscni", join(dest, "loopback"));
      const oldInode = inode(join(dest, "tscni"));

      // A runtime's ADD, blocked reading its config on stdin.
      plugin = spawn(join(dest, "loopback"), [], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: dest },
      });
      let stdout = "";
      plugin.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = once(plugin, "exit");
      const exe = `/proc/${plugin.pid}/exe`;
      for (let i = 0; i < 100 && !isExecuting(exe, join(dest, "tscni")); i++) await sleep(20);
      expect(isExecuting(exe, join(dest, "tscni")), "the old plugin is running").to.equal(true);
      // What an in-place copy would meet: the running file cannot be opened for writing.
      expect(() => closeSync(openSync(join(dest, "tscni"), "r+"))).to.throw(/ETXTBSY/);

      installOk(["--dest", dest]);
      expect(inode(join(dest, "tscni"))).to.not.equal(oldInode);
      expect(readlinkSync(exe)).to.equal(`${join(dest, "tscni")} (deleted)`);

      plugin.stdin?.end(JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" }));
      const [code] = await exited;
      expect(code, "the running plugin finishes its ADD").to.equal(0);
      expect(JSON.parse(stdout)).to.have.property("cniVersion", "1.0.0");
      expect(pod.ipJson<{ flags: string[] }[]>("link", "show", "lo")[0]?.flags).to.include("UP");

      const about = run(join(dest, "loopback"), [], { env: {} });
      expect(about.stderr).to.match(/^CNI loopback plugin tscni v/);
      expect(digest(join(dest, "tscni"))).to.equal(digest(BUILT_BINARY));
    });
  });

  it("gives the binary 0755 and the network config 0644 whatever the umask", () => {
    const dest = join(dir, "bin");
    const confDir = join(dir, "net.d");
    installOk(["--dest", dest, "--conflist", FLANNEL_CONFLIST, "--conf-dir", confDir], "umask 077; ");
    expect(lstatSync(join(dest, "tscni")).mode & 0o7777).to.equal(0o755);
    expect(lstatSync(join(confDir, "10-flannel.conflist")).mode & 0o7777).to.equal(0o644);
    expect(lstatSync(confDir).mode & 0o7777).to.equal(0o755);
  });

  it("installs the network config under --conf-name, replacing an old one", () => {
    const source = join(dir, "cni-conf.json");
    const confDir = join(dir, "net.d");
    writeFileSync(source, readFileSync(FLANNEL_CONFLIST));
    mkdirSync(confDir);
    writeFileSync(join(confDir, "10-flannel.conflist"), '{"name":"old"}');
    const args = ["--dest", join(dir, "bin"), "--conflist", source, "--conf-dir", confDir];
    installOk([...args, "--conf-name", "10-flannel.conflist"]);
    expect(readFileSync(join(confDir, "10-flannel.conflist"), "utf8")).to.equal(readFileSync(FLANNEL_CONFLIST, "utf8"));
    expect(readdirSync(confDir)).to.deep.equal(["10-flannel.conflist"]);
  });

  it("refuses a network config libcni could not read, before installing anything", () => {
    const dest = join(dir, "bin");
    const confDir = join(dir, "net.d");
    const broken = join(dir, "broken.conflist");
    writeFileSync(broken, '{"name": "cbr0", "plugins": [');
    const notJson = installer(["--dest", dest, "--conflist", broken, "--conf-dir", confDir]);
    expect(notJson.status).to.equal(1);
    expect(notJson.stderr).to.contain("not JSON");
    const chainAsConf = installer([
      "--dest",
      dest,
      "--conflist",
      FLANNEL_CONFLIST,
      "--conf-dir",
      confDir,
      "--conf-name",
      "10-flannel.conf",
    ]);
    expect(chainAsConf.status).to.equal(1);
    expect(chainAsConf.stderr).to.contain("must be installed as *.conflist");
    const untyped = join(dir, "untyped.conflist");
    writeFileSync(untyped, JSON.stringify({ name: "cbr0", cniVersion: "1.0.0", plugins: [{ bridge: "cni0" }] }));
    const noType = installer(["--dest", dest, "--conflist", untyped, "--conf-dir", confDir]);
    expect(noType.status).to.equal(1);
    expect(noType.stderr).to.contain("plugins[0].type: expected a string");
    expect(() => readdirSync(dest)).to.throw(/ENOENT/);
    expect(() => readdirSync(confDir)).to.throw(/ENOENT/);
  });
});

function isExecuting(exeLink: string, path: string): boolean {
  try {
    return readlinkSync(exeLink) === path;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

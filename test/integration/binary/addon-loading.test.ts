// The native addon embedded in the binary is loaded safely (design.md): never from a file at a path
// another local user could predict and pre-create, and still when /tmp is mounted noexec. A control
// binary embedding the addon the way Bun does by default shows what each test guards against (it
// loads from a predictable name under /tmp and fails on noexec); the suite's binary must not.

import { expect } from "chai";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { TestNetns } from "../../helpers/netns";
import { runWithPrivateTmp } from "../../helpers/mount-ns";
import { runOk } from "../../helpers/run";
import { pluginPath, REPO_ROOT, scratchDir, suiteDir } from "../../helpers/suite";

const BUN = join(REPO_ROOT, "node_modules/.bin/bun");
const FIXTURES = join(REPO_ROOT, "test/fixtures/addon-loading");
const CONFIG = JSON.stringify({ cniVersion: "1.0.0", name: "lo-net", type: "loopback" });

describe("loading the embedded native addon", function () {
  this.timeout(120_000);

  let work: string;
  let marker: string;
  let planted: string;
  let controlBinary: string;
  /** The file name Bun's default embedding extracts the addon to, e.g. ".bun-0-8b8a61cc1f8071cc.node". */
  let predictableName: string;
  let host: TestNetns;
  let pod: TestNetns;

  before(() => {
    // The private tmpfs mounts would hide a repository (and the binaries under test) living there.
    const hidden = ["/tmp/", "/var/tmp/", "/dev/shm/"].find((dir) => `${REPO_ROOT}/`.startsWith(dir));
    expect(hidden, `clone the repository outside ${hidden ?? ""}: these tests mount a fresh tmpfs over it`).to.equal(
      undefined,
    );
    work = scratchDir("addon-loading");
    marker = join(work, "planted-library-was-loaded");
    planted = join(work, "planted.so");
    runOk("gcc", ["-shared", "-fPIC", `-DMARKER="${marker}"`, join(FIXTURES, "planted.c"), "-o", planted]);
    controlBinary = join(work, "default-embedding");
    runOk(BUN, ["build", "--compile", join(FIXTURES, "default-embedding.ts"), "--outfile", controlBinary]);

    const discovery = runWithPrivateTmp(controlBinary, [], { listTmp: true });
    expect(discovery.stdout.trim(), discovery.stderr).to.equal("loaded");
    const name = discovery.stderr.split("\n").find((line) => /^\.bun-.*\.node$/.test(line));
    expect(name, `Bun's extraction path not found in:\n${discovery.stderr}`).to.be.a("string");
    predictableName = name ?? "";
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  beforeEach(() => {
    rmSync(marker, { force: true });
    host = TestNetns.create("host");
    pod = TestNetns.create("pod");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
  });

  /** loopback ADD (which needs the addon) inside the host namespace, under the given mount setup. */
  const addLoopback = (options: Parameters<typeof runWithPrivateTmp>[2] = {}) =>
    runWithPrivateTmp("ip", ["netns", "exec", host.name, pluginPath("loopback")], {
      input: CONFIG,
      ...options,
      env: {
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "ctr-1",
        CNI_NETNS: pod.path,
        CNI_IFNAME: "eth0",
        CNI_PATH: suiteDir(),
        LD_DEBUG: "files",
        ...options.env,
      },
    });

  it("control: Bun's default embedding dlopen()s the addon from a predictable name under /tmp", () => {
    const result = runWithPrivateTmp(controlBinary, [], { env: { LD_DEBUG: "files" } });
    const loaded = result.stderr.split("\n").filter((line) => line.includes("dynamically loaded by"));
    expect(
      loaded.some((line) => line.includes(`file=/tmp/${predictableName} `)),
      loaded.join("\n"),
    ).to.equal(true);
  });

  it("never loads a library planted at any predictable path", () => {
    const cwd = join(work, "cwd");
    mkdirSync(join(cwd, "native/build/Release"), { recursive: true });
    const binaryDir = suiteDir();
    const paths = [
      ...["/tmp", "/var/tmp", "/dev/shm"].flatMap((dir) => [
        `${dir}/${predictableName}`,
        `${dir}/tscni_native.node`,
        `${dir}/.tscni_native.node`,
      ]),
      join(cwd, "tscni_native.node"),
      join(cwd, "native/build/Release/tscni_native.node"),
      join(binaryDir, "tscni_native.node"),
    ];
    try {
      const result = addLoopback({ plant: paths.map((path) => ({ source: planted, path })), cwd });
      expect(result.status, result.stdout + result.stderr).to.equal(0);
      expect(existsSync(marker), "a planted library was loaded").to.equal(false);
      const loaded = result.stderr.split("\n").filter((line) => line.includes("dynamically loaded by"));
      expect(
        loaded.some((line) => /file=\/proc\/self\/fd\/\d+ /.test(line)),
        loaded.join("\n"),
      ).to.equal(true);
      expect(loaded.filter((line) => /file=\/(tmp|var\/tmp|dev\/shm)\//.test(line))).to.deep.equal([]);
    } finally {
      rmSync(join(binaryDir, "tscni_native.node"), { force: true });
    }
  });

  it("control: Bun's default embedding fails when /tmp is noexec", () => {
    const result = runWithPrivateTmp(controlBinary, [], { noexec: true });
    expect(result.status).to.not.equal(0);
    expect(result.stdout).to.not.contain("loaded");
  });

  it("works with /tmp, /var/tmp and /dev/shm mounted noexec", () => {
    const result = addLoopback({ noexec: true });
    expect(result.status, result.stdout + result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.have.property("interfaces");
  });

  it("ignores bunfig.toml and .env in its working directory", () => {
    const cwd = join(work, "autoload");
    mkdirSync(cwd, { recursive: true });
    // .env would disable the own-netns check; bunfig.toml would preload code.
    writeFileSync(join(cwd, ".env"), "TSCNI_AUTOLOAD_PROBE=loaded\nCNI_NETNS_OVERRIDE=1\n");
    writeFileSync(join(cwd, "preload.js"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "");\n`);
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    const probe = join(work, "autoload-probe");
    runOk(BUN, ["build", "--compile", join(FIXTURES, "autoload-probe.ts"), "--outfile", probe]);
    expect(runOk(probe, [], { cwd }).trim(), "control: Bun's default reads .env").to.equal("loaded");
    expect(existsSync(marker), "control: Bun's default runs bunfig.toml's preload").to.equal(true);
    rmSync(marker);

    const result = addLoopback({ cwd, env: { CNI_NETNS: "/proc/self/ns/net" } });
    expect(JSON.parse(result.stdout)).to.include({ code: 4, msg: "CNI_NETNS is the plugin's own network namespace" });
    expect(existsSync(marker), "bunfig.toml preload ran").to.equal(false);
  });
});

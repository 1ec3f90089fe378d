// The saved delegate configs under dataDir: upstream's layout and modes, written atomically.

import { expect } from "chai";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { ScratchDir } from "../../../plugins/flannel/scratch";
import { scratchDir } from "../../helpers/suite";

const bytes = (text: string) => new TextEncoder().encode(text);
const mode = (path: string) => statSync(path).mode & 0o777;

describe("flannel saved delegate configs", () => {
  let root: string;
  let dataDir: string;
  let scratch: ScratchDir;

  beforeEach(() => {
    root = scratchDir("flannel-scratch");
    dataDir = join(root, "var/lib/cni/flannel");
    scratch = new ScratchDir(dataDir);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("saves <dataDir>/<containerID>, creating the directory 0700 and the file 0600", async () => {
    const umask = process.umask(0o022);
    try {
      await scratch.save("ctr-1", bytes('{"type":"bridge"}'));
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(join(dataDir, "ctr-1"), "utf8")).to.equal('{"type":"bridge"}');
    expect(mode(dataDir)).to.equal(0o700);
    expect(mode(join(dataDir, "ctr-1"))).to.equal(0o600);
    expect(readdirSync(dataDir)).to.deep.equal(["ctr-1"]);
  });

  it("replaces a saved config whole, leaving no temporary file", async () => {
    await scratch.save("ctr-1", bytes("a much longer first version"));
    await scratch.save("ctr-1", bytes("second"));
    expect(readFileSync(join(dataDir, "ctr-1"), "utf8")).to.equal("second");
    expect(readdirSync(dataDir)).to.deep.equal(["ctr-1"]);
  });

  it("fails without leaving a temporary file when the target cannot be replaced", async () => {
    mkdirSync(join(dataDir, "ctr-1"), { recursive: true });
    writeFileSync(join(dataDir, "ctr-1", "inside"), "");
    const failed = await scratch.save("ctr-1", bytes("x")).then(
      () => false,
      () => true,
    );
    expect(failed).to.equal(true);
    expect(readdirSync(dataDir)).to.deep.equal(["ctr-1"]);
  });

  it("loads what was saved, and undefined when nothing was (or the directory is absent)", async () => {
    expect(await scratch.load("ctr-1")).to.equal(undefined);
    await scratch.save("ctr-1", bytes("saved"));
    expect(new TextDecoder().decode(await scratch.load("ctr-1"))).to.equal("saved");
    expect(await scratch.load("ctr-2")).to.equal(undefined);
  });

  it("removes a saved config; removing one that is not there succeeds", async () => {
    await scratch.save("ctr-1", bytes("saved"));
    await scratch.remove("ctr-1");
    await scratch.remove("ctr-1");
    expect(readdirSync(dataDir)).to.deep.equal([]);
  });

  it("lists saved configs by container ID and, apart, leftovers of interrupted saves", async () => {
    expect(await scratch.list()).to.deep.equal({ containerIds: [], leftovers: [] });
    await scratch.save("ctr-1", bytes("1"));
    await scratch.save("ctr-2", bytes("2"));
    writeFileSync(join(dataDir, ".tmp-ctr-3-4242"), "torn");
    mkdirSync(join(dataDir, "a-directory"));
    const listed = await scratch.list();
    expect(listed.containerIds.sort()).to.deep.equal(["ctr-1", "ctr-2"]);
    expect(listed.leftovers).to.deep.equal([".tmp-ctr-3-4242"]);
    await scratch.removeLeftover(".tmp-ctr-3-4242");
    expect(readdirSync(dataDir).sort()).to.deep.equal(["a-directory", "ctr-1", "ctr-2"]);
  });
});

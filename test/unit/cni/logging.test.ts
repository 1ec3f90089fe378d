// Logs go to stderr or to the configured file as JSON lines, filtered by level, and never to
// stdout, which carries only the result or the error reply.

import { expect } from "chai";
import { linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CniError } from "../../../cni/errors";
import type { AddRequest } from "../../../cni/plugin";
import { emptyResult } from "../../../cni/result";
import { attachmentEnv, config, expectErrorReply, expectSuccess, FakePlugin, invoke } from "./support/harness";

/** A plugin that logs one record at every level, then succeeds. */
const chatty = (): FakePlugin =>
  new FakePlugin({
    add: async (request: AddRequest) => {
      for (const level of ["debug", "info", "warn", "error"] as const) request.logger[level](`at ${level}`, { n: 1 });
      return emptyResult();
    },
  });

/** The level and message of each JSON line, after checking the context every record carries. */
const records = (lines: readonly string[]): string[] =>
  lines.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).to.include({ plugin: "fake", command: "ADD", containerId: "ctr-1" });
    expect(record["timestamp"]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    return `${String(record["level"])}: ${String(record["message"])}`;
  });

describe("logging", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tscni-unit-log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const levels: readonly (readonly [string, Record<string, string>, Record<string, unknown>, readonly string[]])[] = [
    ["warn by default", {}, {}, ["warn: at warn", "error: at error"]],
    [
      "the config's logLevel",
      {},
      { logLevel: "debug" },
      ["debug: at debug", "info: at info", "warn: at warn", "error: at error"],
    ],
    ["TSCNI_LOG_LEVEL over the config's", { TSCNI_LOG_LEVEL: "error" }, { logLevel: "debug" }, ["error: at error"]],
  ];
  for (const [title, env, extra, expected] of levels) {
    it(`writes to stderr at ${title}, and only the result to stdout`, async () => {
      const outcome = await invoke(chatty(), {
        env: { ...attachmentEnv("ADD"), ...env },
        stdin: config("1.0.0", extra),
      });
      expectSuccess(outcome, { cniVersion: "1.0.0" });
      expect(records(outcome.stderr)).to.deep.equal(expected);
      expect(JSON.parse(outcome.stderr[0] ?? "")).to.have.property("n", 1);
    });
  }

  it("appends to the config's logFile (mode 0600), not to stderr", async () => {
    const file = join(dir, "cni.log");
    for (let run = 0; run < 2; run++) {
      const outcome = await invoke(chatty(), { env: attachmentEnv("ADD"), stdin: config("1.0.0", { logFile: file }) });
      expectSuccess(outcome, { cniVersion: "1.0.0" });
      expect(outcome.stderr).to.deep.equal([]);
    }
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines.pop()).to.equal("");
    expect(records(lines)).to.deep.equal(["warn: at warn", "error: at error", "warn: at warn", "error: at error"]);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
  });

  it("prefers TSCNI_LOG_FILE to the config's logFile, and creates its directory", async () => {
    const file = join(dir, "sub", "env.log");
    const outcome = await invoke(chatty(), {
      env: { ...attachmentEnv("ADD"), TSCNI_LOG_FILE: file },
      stdin: config("1.0.0", { logFile: join(dir, "config.log") }),
    });
    expectSuccess(outcome, { cniVersion: "1.0.0" });
    expect(records(readFileSync(file, "utf8").trimEnd().split("\n"))).to.deep.equal([
      "warn: at warn",
      "error: at error",
    ]);
    expect(() => statSync(join(dir, "config.log"))).to.throw();
  });

  it("falls back to stderr, and does not hang, when the log file cannot be opened", async () => {
    const outcome = await invoke(chatty(), { env: attachmentEnv("ADD"), stdin: config("1.0.0", { logFile: dir }) });
    expectSuccess(outcome, { cniVersion: "1.0.0" });
    const [notice, ...rest] = outcome.stderr;
    expect(JSON.parse(notice ?? "")).to.deep.include({
      level: "error",
      message: "cannot open the log file; logging to stderr",
      logFile: dir,
      error: `EISDIR: illegal operation on a directory, open '${dir}'`,
    });
    expect(records(rest)).to.deep.equal(["warn: at warn", "error: at error"]);
  });

  it("creates the file 0600 and missing directories 0700 whatever the umask", async () => {
    const file = join(dir, "a", "b", "cni.log");
    const previous = process.umask(0);
    try {
      expectSuccess(await invoke(chatty(), { env: attachmentEnv("ADD"), stdin: config("1.0.0", { logFile: file }) }), {
        cniVersion: "1.0.0",
      });
    } finally {
      process.umask(previous);
    }
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, "a")).mode & 0o777).to.equal(0o700);
    expect(statSync(join(dir, "a", "b")).mode & 0o777).to.equal(0o700);
  });

  const refusals: readonly (readonly [string, (file: string, target: string) => void, RegExp])[] = [
    ["a symlink planted at its path", (file, target) => symlinkSync(target, file), /ELOOP/],
    ["a hard link planted at its path", (file, target) => linkSync(target, file), /hard-linked elsewhere/],
  ];
  for (const [title, plant, reason] of refusals) {
    it(`never appends through ${title}: the records go to stderr`, async () => {
      const target = join(dir, "target");
      writeFileSync(target, "precious\n");
      const file = join(dir, "cni.log");
      plant(file, target);
      const outcome = await invoke(chatty(), { env: attachmentEnv("ADD"), stdin: config("1.0.0", { logFile: file }) });
      expectSuccess(outcome, { cniVersion: "1.0.0" });
      const [notice, ...rest] = outcome.stderr;
      expect(JSON.parse(notice ?? "")).to.deep.include({ message: "cannot open the log file; logging to stderr" });
      expect(JSON.parse(notice ?? "")["error"]).to.match(reason);
      expect(records(rest)).to.deep.equal(["warn: at warn", "error: at error"]);
      expect(readFileSync(target, "utf8")).to.equal("precious\n");
    });
  }

  it("records a failed command at debug with its code, on stderr; stdout holds only the reply", async () => {
    const plugin = new FakePlugin({
      add: async () => {
        throw new CniError(11, "try again", "lock busy");
      },
    });
    const outcome = await invoke(plugin, { env: attachmentEnv("ADD"), stdin: config("1.0.0", { logLevel: "debug" }) });
    expectErrorReply(outcome, { cniVersion: "1.0.0", code: 11, msg: "try again", details: "lock busy" });
    expect(records(outcome.stderr)).to.deep.equal(["debug: command failed"]);
    expect(JSON.parse(outcome.stderr[0] ?? "")).to.include({ code: 11, error: "try again", details: "lock busy" });
  });

  it("creates no log file while no record reaches the level", async () => {
    const outcome = await invoke(chatty(), {
      env: attachmentEnv("ADD"),
      stdin: config("1.0.0", { logLevel: "error", logFile: join(dir, "quiet", "cni.log") }),
    });
    expectSuccess(outcome, { cniVersion: "1.0.0" });
    expect(
      records(
        readFileSync(join(dir, "quiet", "cni.log"), "utf8")
          .trimEnd()
          .split("\n"),
      ),
    ).to.deep.equal(["error: at error"]);
    const silent = await invoke(new FakePlugin(), {
      env: attachmentEnv("ADD"),
      stdin: config("1.0.0", { logLevel: "debug", logFile: join(dir, "silent", "cni.log") }),
    });
    expectSuccess(silent, { cniVersion: "1.0.0" });
    expect(() => statSync(join(dir, "silent")), "not even its directory").to.throw(/ENOENT/);
  });
});

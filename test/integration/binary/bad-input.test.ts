// Malformed input of every kind gets the spec's error JSON with the right code on stdout (and
// nothing else there), a non-zero exit, a bounded run time, and no change on the host.

import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { attachmentEnv, callPlugin, type PluginCall } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { pluginPath } from "../../helpers/suite";

interface Case {
  readonly title: string;
  readonly code: number;
  readonly command?: string;
  readonly stdin?: string | Buffer;
  readonly stdinFile?: string;
  readonly config?: unknown;
  /** Environment overrides; a value of "" removes the variable. */
  readonly env?: Readonly<Record<string, string>>;
}

const VALID = { cniVersion: "1.0.0", name: "lo-net", type: "loopback" };
const TIME_BOUND_MS = 5_000;

const cases = (podPath: string): Case[] => [
  { title: "invalid JSON", code: 6, stdin: '{"cniVersion": "1.0.0", "name": ' },
  { title: "truncated JSON", code: 6, stdin: JSON.stringify(VALID).slice(0, 20) },
  { title: "empty stdin", code: 6, stdin: "" },
  { title: "a JSON array instead of an object", code: 6, stdin: "[]" },
  { title: "a JSON string instead of an object", code: 6, stdin: '"loopback"' },
  { title: "JSON null", code: 6, stdin: "null" },
  { title: "bytes that are not UTF-8", code: 6, stdin: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
  { title: "cniVersion that is not a string", code: 6, config: { ...VALID, cniVersion: 1 } },
  { title: "unsupported cniVersion", code: 1, config: { ...VALID, cniVersion: "9.9.9" } },
  { title: "CHECK with a 0.3.1 config", code: 1, command: "CHECK", config: { ...VALID, cniVersion: "0.3.1" } },
  { title: "GC with a 1.0.0 config", code: 1, command: "GC", config: VALID },
  { title: "missing network name", code: 7, config: { cniVersion: "1.0.0", type: "loopback" } },
  { title: "network name with a slash", code: 7, config: { ...VALID, name: "../etc" } },
  { title: "unknown CNI_COMMAND", code: 4, command: "FROB", config: VALID },
  { title: "missing CNI_CONTAINERID", code: 4, config: VALID, env: { CNI_CONTAINERID: "" } },
  { title: "missing CNI_IFNAME", code: 4, config: VALID, env: { CNI_IFNAME: "" } },
  { title: "missing CNI_NETNS on ADD", code: 4, config: VALID, env: { CNI_NETNS: "" } },
  { title: "missing CNI_PATH", code: 4, config: VALID, env: { CNI_PATH: "" } },
  { title: "container ID with path characters", code: 4, config: VALID, env: { CNI_CONTAINERID: "../../etc/passwd" } },
  { title: "container ID with a NUL-free unicode name", code: 4, config: VALID, env: { CNI_CONTAINERID: "ctr-é" } },
  { title: "ifname with a slash", code: 4, config: VALID, env: { CNI_IFNAME: "../eth0" } },
  { title: "ifname with a colon", code: 4, config: VALID, env: { CNI_IFNAME: "eth0:1" } },
  { title: "ifname with whitespace", code: 4, config: VALID, env: { CNI_IFNAME: "eth 0" } },
  { title: "ifname '..'", code: 4, config: VALID, env: { CNI_IFNAME: ".." } },
  { title: "ifname longer than 15 bytes", code: 4, config: VALID, env: { CNI_IFNAME: "eth0123456789abc" } },
  { title: "a netns path that does not exist", code: 3, config: VALID, env: { CNI_NETNS: `${podPath}-missing` } },
  { title: "a netns path that is not a netns", code: 4, config: VALID, env: { CNI_NETNS: "/etc/hostname" } },
  { title: "a relative netns path", code: 4, config: VALID, env: { CNI_NETNS: "run/netns/x" } },
  // Given as a file: the plugin stops reading at its limit, which a pipe's writer sees as EPIPE.
  { title: "oversized stdin", code: 5, stdinFile: JSON.stringify({ ...VALID, padding: "x".repeat(2 * 1024 * 1024) }) },
  { title: "invalid prevResult", code: 6, config: { ...VALID, prevResult: { ips: [{ address: "not-an-ip" }] } } },
  { title: "invalid log level", code: 7, config: { ...VALID, logLevel: "loud" } },
];

describe("bad input to the compiled binary", () => {
  let inputDir: string;
  const writeInput = (content: string): string => {
    const file = join(inputDir, `input-${Math.random().toString(16).slice(2)}`);
    writeFileSync(file, content);
    return file;
  };
  let host: TestNetns;
  let pod: TestNetns;
  let cwd: string;
  let hostBefore: string;
  let podBefore: string;

  before(() => {
    host = TestNetns.create("host");
    pod = TestNetns.create("pod");
    cwd = mkdtempSync(join(tmpdir(), "tscni-cwd-"));
    inputDir = mkdtempSync(join(tmpdir(), "tscni-input-"));
    hostBefore = host.ip("-j", "addr", "show");
    podBefore = pod.ip("-j", "addr", "show");
  });
  after(() => {
    pod.delete();
    host.delete();
    rmSync(cwd, { recursive: true, force: true });
    rmSync(inputDir, { recursive: true, force: true });
  });

  for (const testCase of cases("/run/netns/placeholder")) {
    it(`${testCase.title} → code ${testCase.code}`, () => {
      const env: Record<string, string> = attachmentEnv("ctr-1", pod.path);
      for (const [key, value] of Object.entries(testCase.env ?? {})) {
        const resolved = value.replace("/run/netns/placeholder", pod.path);
        if (resolved === "") delete env[key];
        else env[key] = key === "CNI_NETNS" && value.endsWith("-missing") ? `${pod.path}-missing` : resolved;
      }
      const call: PluginCall = {
        plugin: pluginPath("loopback"),
        command: testCase.command ?? "ADD",
        host,
        env,
        cwd,
        timeoutMs: TIME_BOUND_MS,
        ...(testCase.stdin !== undefined ? { stdin: testCase.stdin } : { config: testCase.config }),
        ...(testCase.stdinFile !== undefined ? { stdinFile: writeInput(testCase.stdinFile) } : {}),
      };
      const started = Date.now();
      const reply = callPlugin(call);
      expect(Date.now() - started, "time bound").to.be.below(TIME_BOUND_MS);
      expect(reply.status, reply.stdout + reply.stderr).to.equal(1);
      expect(reply.json, `stdout is one JSON object: ${reply.stdout}`).to.be.an("object");
      expect(reply.json?.["code"], reply.stdout).to.equal(testCase.code);
      expect(reply.json?.["msg"]).to.be.a("string").and.not.equal("");
      expect(reply.json?.["cniVersion"]).to.be.a("string");
      expect(Object.keys(reply.json ?? {})).to.satisfy((keys: string[]) =>
        keys.every((k) => ["cniVersion", "code", "msg", "details"].includes(k)),
      );
    });
  }

  // Mocha runs the tests of a file in order, so this one sees what all the cases left behind.
  it("left the host namespace, the pod namespace and the working directory unchanged", () => {
    expect(host.ip("-j", "addr", "show")).to.equal(hostBefore);
    expect(pod.ip("-j", "addr", "show")).to.equal(podBefore);
    expect(readdirSync(cwd)).to.deep.equal([]);
  });
});

// Every verb under every config version: which are allowed (CHECK from 0.4.0, GC and STATUS from
// 1.1.0, code 1 otherwise), what the plugin receives, the "about" text and the VERSION reply.

import { expect } from "chai";

import { BufferedIo } from "../../../cni/io";
import { runPlugin } from "../../../cni/skel";
import { SPEC_VERSIONS, type SpecVersion } from "../../../cni/version";
import {
  ABOUT,
  attachmentEnv,
  CNI_PATH,
  config,
  expectErrorReply,
  expectSuccess,
  FakePlugin,
  FakeRunner,
  findInFirstDirectory,
  invoke,
  POD_NETNS,
} from "./support/harness";

const ALL_VERSIONS_REPLY =
  '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}';

/** The first version that allows each verb (spec 0.4.0 added CHECK, 1.1.0 added GC and STATUS). */
const MINIMUM: Readonly<Record<"ADD" | "DEL" | "CHECK" | "GC" | "STATUS", SpecVersion>> = {
  ADD: "0.1.0",
  DEL: "0.1.0",
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

const envFor = (verb: string): Record<string, string> =>
  verb === "GC" || verb === "STATUS" ? { CNI_COMMAND: verb, CNI_PATH } : attachmentEnv(verb);

describe("verbs x versions", () => {
  for (const [verb, minimum] of Object.entries(MINIMUM)) {
    for (const version of SPEC_VERSIONS) {
      const allowed = SPEC_VERSIONS.indexOf(version) >= SPEC_VERSIONS.indexOf(minimum);
      it(`${verb} with a ${version} config is ${allowed ? "run" : "refused with code 1"}`, async () => {
        const plugin = new FakePlugin();
        const outcome = await invoke(plugin, { env: envFor(verb), stdin: config(version) });
        if (allowed) {
          expectSuccess(outcome, verb === "ADD" ? { cniVersion: version } : undefined);
          expect(plugin.onlyCall().verb).to.equal(verb.toLowerCase());
        } else {
          expectErrorReply(outcome, {
            cniVersion: version,
            code: 1,
            msg: `config version does not allow ${verb}`,
            details: `${verb} needs cniVersion ${minimum} or later, config is ${version}`,
          });
          expect(plugin.calls).to.deep.equal([]);
          expect(plugin.loads).to.equal(0);
        }
      });
    }
  }

  for (const version of SPEC_VERSIONS) {
    it(`VERSION with a ${version} config lists every version, whatever stdin holds`, async () => {
      const outcome = await invoke(new FakePlugin(), { env: { CNI_COMMAND: "VERSION" }, stdin: config(version) });
      expect(outcome).to.include({ exitCode: 0 });
      expect(outcome.stdout).to.deep.equal([ALL_VERSIONS_REPLY]);
      expect(outcome.stderr).to.deep.equal([]);
    });

    it(`an unknown verb with a ${version} config → code 4`, async () => {
      const plugin = new FakePlugin();
      const outcome = await invoke(plugin, { env: attachmentEnv("FROB"), stdin: config(version) });
      expectErrorReply(outcome, { cniVersion: "1.1.0", code: 4, msg: "unknown CNI_COMMAND: FROB" });
      expect(plugin.loads).to.equal(0);
    });
  }

  // Verbs are case-sensitive, and names of Object.prototype members are no verbs.
  for (const verb of ["add", "Version", "constructor", "toString", "__proto__", "hasOwnProperty"]) {
    it(`CNI_COMMAND=${verb} is unknown → code 4`, async () => {
      const outcome = await invoke(new FakePlugin(), { env: attachmentEnv(verb), stdin: config("1.1.0") });
      expectErrorReply(outcome, { cniVersion: "1.1.0", code: 4, msg: `unknown CNI_COMMAND: ${verb}` });
    });
  }
});

describe("VERSION", () => {
  it("lists only the plugin's versions, reported as a 1.1.0 reply", async () => {
    const plugin = new FakePlugin({}, { versions: ["0.3.1", "0.4.0", "1.0.0"] });
    const outcome = await invoke(plugin, { env: { CNI_COMMAND: "VERSION" } });
    expect(outcome.stdout).to.deep.equal(['{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}']);
  });

  it("reads no stdin and loads no plugin code", async () => {
    const plugin = new FakePlugin();
    const io = new BufferedIo({ CNI_COMMAND: "VERSION" }, "");
    io.readStdin = () => Promise.reject(new Error("VERSION must not read stdin"));
    const exitCode = await runPlugin(plugin, io, {
      about: ABOUT,
      probeNetns: () => Promise.reject(new Error("VERSION must not probe")),
      runner: new FakeRunner(),
      find: findInFirstDirectory,
    });
    expect({ exitCode, stdout: io.output, loads: plugin.loads }).to.deep.equal({
      exitCode: 0,
      stdout: [ALL_VERSIONS_REPLY],
      loads: 0,
    });
  });
});

describe("without CNI_COMMAND", () => {
  for (const env of [{}, { CNI_COMMAND: "" }]) {
    it(`prints the about text and the versions on stderr, nothing on stdout (${JSON.stringify(env)})`, async () => {
      const plugin = new FakePlugin({}, { versions: ["0.4.0", "1.0.0", "1.1.0"] });
      const outcome = await invoke(plugin, { env, stdin: "not json" });
      expect(outcome).to.deep.include({ exitCode: 0, stdout: [] });
      expect(outcome.stderr).to.deep.equal([ABOUT, "CNI protocol versions supported: 0.4.0, 1.0.0, 1.1.0"]);
      expect(plugin.loads).to.equal(0);
    });
  }
});

describe("what each verb hands to the plugin", () => {
  const stdinText = '{ "cniVersion": "1.1.0",  "name": "test-net", "type": "fake", "extra": {"k": [1, 2]} }';

  for (const verb of ["ADD", "CHECK"] as const) {
    it(`${verb}: container ID, ifname, netns path, config, the exact stdin bytes and CNI_PATH`, async () => {
      const plugin = new FakePlugin();
      const env = { ...attachmentEnv(verb), CNI_PATH: "/opt/cni/bin::/usr/lib/cni", CNI_ARGS: "K8S_POD_NAME=web" };
      const outcome = await invoke(plugin, { env, stdin: stdinText });
      expectSuccess(outcome, verb === "ADD" ? { cniVersion: "1.1.0" } : undefined);
      const { request } = plugin.onlyCall();
      if (!("netns" in request)) throw new Error("an attachment request has a netns");
      expect(request.netns).to.equal(POD_NETNS);
      expect(request).to.deep.include({ containerId: "ctr-1", ifName: "eth0", env });
      expect(request.cniPath).to.deep.equal(["/opt/cni/bin", "/usr/lib/cni"]);
      expect(request.config).to.deep.equal({
        cniVersion: "1.1.0",
        name: "test-net",
        type: "fake",
        raw: JSON.parse(stdinText),
      });
      expect(new TextDecoder().decode(request.stdin)).to.equal(stdinText);
      expect(request.cniArgs.raw).to.equal("K8S_POD_NAME=web");
      expect(outcome.probed).to.deep.equal([POD_NETNS]);
    });
  }

  it("a config without cniVersion is 0.1.0, as in libcni", async () => {
    const plugin = new FakePlugin();
    const outcome = await invoke(plugin, { env: attachmentEnv("ADD"), stdin: { name: "test-net", type: "fake" } });
    expectSuccess(outcome, { cniVersion: "0.1.0" });
    expect(plugin.onlyCall().request.config.cniVersion).to.equal("0.1.0");
  });

  it("an empty cniVersion is 0.1.0 too", async () => {
    const outcome = await invoke(new FakePlugin(), { env: attachmentEnv("DEL"), stdin: config("") });
    expectSuccess(outcome);
  });

  it("GC and STATUS need only CNI_PATH, and never probe a netns", async () => {
    for (const verb of ["GC", "STATUS"]) {
      const plugin = new FakePlugin();
      const outcome = await invoke(plugin, { env: { CNI_COMMAND: verb, CNI_PATH }, stdin: config("1.1.0") });
      expectSuccess(outcome);
      expect(plugin.onlyCall().verb).to.equal(verb.toLowerCase());
      expect(outcome.probed).to.deep.equal([]);
    }
  });

  it("GC and STATUS succeed for a plugin that implements neither", async () => {
    for (const verb of ["GC", "STATUS"]) {
      const plugin = new FakePlugin({}, { withoutOptional: true });
      expectSuccess(await invoke(plugin, { env: { CNI_COMMAND: verb, CNI_PATH }, stdin: config("1.1.0") }));
      expect(plugin.loads).to.equal(1);
    }
  });
});

describe("GC attachments", () => {
  const gc = async (extra: Record<string, unknown>) => {
    const plugin = new FakePlugin();
    const outcome = await invoke(plugin, { env: { CNI_COMMAND: "GC", CNI_PATH }, stdin: config("1.1.0", extra) });
    return { plugin, outcome };
  };
  const validAttachmentsOf = (plugin: FakePlugin): unknown => {
    const call = plugin.onlyCall();
    if (call.verb !== "gc") throw new Error(`expected a GC call, got ${call.verb}`);
    return call.request.validAttachments;
  };
  const list = [
    { containerID: "ctr-1", ifname: "eth0" },
    { containerID: "ctr-2", ifname: "net1", extra: true },
  ];
  const parsed = [
    { containerId: "ctr-1", ifName: "eth0" },
    { containerId: "ctr-2", ifName: "net1" },
  ];

  it("reads cni.dev/valid-attachments", async () => {
    const { plugin, outcome } = await gc({ "cni.dev/valid-attachments": list });
    expectSuccess(outcome);
    expect(validAttachmentsOf(plugin)).to.deep.equal(parsed);
  });

  it("reads cni.dev/attachments, the key of the spec-v1.1.0 tag", async () => {
    const { plugin } = await gc({ "cni.dev/attachments": list });
    expect(validAttachmentsOf(plugin)).to.deep.equal(parsed);
  });

  it("prefers cni.dev/valid-attachments when libcni sends both", async () => {
    const { plugin } = await gc({ "cni.dev/valid-attachments": list.slice(1), "cni.dev/attachments": list });
    expect(validAttachmentsOf(plugin)).to.deep.equal(parsed.slice(1));
  });

  it("an empty list means no attachment is valid; no list means none was given", async () => {
    expect(validAttachmentsOf((await gc({ "cni.dev/valid-attachments": [] })).plugin)).to.deep.equal([]);
    expect(validAttachmentsOf((await gc({})).plugin)).to.equal(undefined);
  });

  const invalid: readonly (readonly [string, Record<string, unknown>, string, string])[] = [
    [
      "a list that is no array",
      { "cni.dev/valid-attachments": "ctr-1" },
      "invalid cni.dev/valid-attachments",
      'cni.dev/valid-attachments: expected an array, got the string "ctr-1"',
    ],
    [
      "an entry without ifname",
      { "cni.dev/valid-attachments": [{ containerID: "ctr-1" }] },
      "invalid cni.dev/valid-attachments",
      "cni.dev/valid-attachments[0].ifname: expected a string, got nothing",
    ],
    [
      "an entry that is no object",
      { "cni.dev/attachments": ["ctr-1/eth0"] },
      "invalid cni.dev/attachments",
      'cni.dev/attachments[0]: expected an object, got the string "ctr-1/eth0"',
    ],
  ];
  for (const [title, extra, msg, details] of invalid) {
    it(`${title} → code 7`, async () => {
      const { plugin, outcome } = await gc(extra);
      expectErrorReply(outcome, { cniVersion: "1.1.0", code: 7, msg, details });
      expect(plugin.calls).to.deep.equal([]);
    });
  }
});

// Every malformed input gets the spec's error reply {cniVersion, code, msg, details} as the only
// thing on stdout, exit status 1, and reaches neither the plugin nor the netns probe.

import { expect } from "chai";

import { STDIN_LIMIT } from "../../../cni/command";
import { BufferedIo } from "../../../cni/io";
import { runPlugin } from "../../../cni/skel";
import {
  ABOUT,
  attachmentEnv,
  CNI_PATH,
  config,
  expectErrorReply,
  type ExpectedError,
  expectSuccess,
  FakePlugin,
  FakeRunner,
  findInFirstDirectory,
  invoke,
  messageOf,
} from "./support/harness";

const ALL_SUPPORTED = '["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]';

interface Case {
  readonly title: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdin: unknown;
  readonly expected: ExpectedError;
}

const unmarshalling = (text: string): ExpectedError => ({
  cniVersion: "1.1.0",
  code: 6,
  msg: `error unmarshalling network config: ${messageOf(() => JSON.parse(text))}`,
});

const configCases: readonly Case[] = [
  {
    title: "invalid JSON",
    stdin: '{"cniVersion": "1.0.0", "name": ',
    expected: unmarshalling('{"cniVersion": "1.0.0", "name": '),
  },
  {
    title: "truncated JSON",
    stdin: '{"cniVersion": "1.0.0", "na',
    expected: unmarshalling('{"cniVersion": "1.0.0", "na'),
  },
  { title: "empty stdin", stdin: "", expected: unmarshalling("") },
  {
    // Go's decoder stops at 10000 levels; deeper configs overflowed the stack of code walking them.
    title: "JSON nested deeper than Go's decoder takes",
    stdin: `{"cniVersion":"1.0.0","name":"n","type":"t","x":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
    expected: { cniVersion: "1.1.0", code: 6, msg: "error unmarshalling network config: exceeded max depth of 10000" },
  },
  {
    // JSON.parse makes 1e400 Infinity, which Go's decoder refuses and no key can mean.
    title: "a number beyond a 64-bit float",
    stdin: '{"cniVersion":"1.0.0","name":"n","type":"t","x":[1, -1e400]}',
    expected: {
      cniVersion: "1.1.0",
      code: 6,
      msg: "error unmarshalling network config: a number overflows a 64-bit float",
    },
  },
  {
    title: "bytes that are not UTF-8",
    stdin: Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d),
    expected: {
      cniVersion: "1.1.0",
      code: 6,
      msg: `error unmarshalling network config: ${messageOf(() => new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.of(0xff)))}`,
    },
  },
  ...(
    [
      ["an array", "[]", "an array"],
      ["null", "null", "null"],
      ["a string", '"fake"', 'the string "fake"'],
      ["a number", "42", "number 42"],
      ["a boolean", "true", "boolean true"],
    ] as const
  ).map(([what, stdin, got]) => ({
    title: `a config that is ${what}`,
    stdin,
    expected: {
      cniVersion: "1.1.0",
      code: 6,
      msg: `error unmarshalling network config: (root): expected an object, got ${got}`,
    },
  })),
  {
    title: "cniVersion that is no string",
    stdin: config("1.0.0", { cniVersion: 1 }),
    expected: {
      cniVersion: "1.1.0",
      code: 6,
      msg: "error unmarshalling network config: cniVersion: expected a string, got number 1",
    },
  },
  {
    title: "name that is no string",
    stdin: config("1.0.0", { name: ["net"] }),
    expected: {
      cniVersion: "1.1.0",
      code: 6,
      msg: "error unmarshalling network config: name: expected a string, got an array",
    },
  },
  ...["9.9.9", "1.0", "v1.0.0", "0.4.0 "].map((version) => ({
    title: `unsupported cniVersion ${JSON.stringify(version)}`,
    stdin: config(version),
    expected: {
      cniVersion: "1.1.0",
      code: 1,
      msg: "incompatible CNI versions",
      details: `config is ${JSON.stringify(version)}, plugin supports ${ALL_SUPPORTED}`,
    },
  })),
  {
    title: "missing network name",
    stdin: { cniVersion: "1.0.0", type: "fake" },
    expected: { cniVersion: "1.1.0", code: 7, msg: "missing network name" },
  },
  ...["../etc", "a/b", "net 1", "net:1", "net\n", ".", "..", "-net", "_net", "nét"].map((name) => ({
    title: `network name ${JSON.stringify(name)}`,
    stdin: config("1.0.0", { name }),
    expected: { cniVersion: "1.1.0", code: 7, msg: "invalid characters found in network name", details: name },
  })),
];

const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  GC: ["CNI_PATH"],
  STATUS: ["CNI_PATH"],
};

const missingEnvCases: readonly Case[] = Object.entries(REQUIRED).flatMap(([verb, names]) => [
  ...names.flatMap((name) =>
    ["unset", "empty"].map((how) => ({
      title: `${verb} with ${name} ${how}`,
      env: { ...attachmentEnv(verb), [name]: how === "unset" ? undefined : "" },
      stdin: config("1.1.0"),
      expected: { cniVersion: "1.1.0", code: 4, msg: `required env variables [${name}] missing` },
    })),
  ),
  {
    title: `${verb} with nothing but CNI_COMMAND`,
    env: { CNI_COMMAND: verb },
    stdin: config("1.1.0"),
    expected: { cniVersion: "1.1.0", code: 4, msg: `required env variables [${names.join(",")}] missing` },
  },
]);

const invalidContainerId = (id: string): Case => ({
  title: `container ID ${JSON.stringify(id)}`,
  env: { ...attachmentEnv("ADD"), CNI_CONTAINERID: id },
  stdin: config("1.0.0"),
  expected: { cniVersion: "1.0.0", code: 4, msg: "invalid characters in containerID", details: id },
});

const invalidIfName = (ifName: string, msg: string, details?: string): Case => ({
  title: `ifname ${JSON.stringify(ifName)}`,
  env: { ...attachmentEnv("ADD"), CNI_IFNAME: ifName },
  stdin: config("1.0.0"),
  expected: { cniVersion: "1.0.0", code: 4, msg, ...(details !== undefined ? { details } : {}) },
});

const TOO_LONG = ["interface name is too long", "interface name should be less than 16 characters"] as const;
const SEPARATOR = "interface name contains / or : or whitespace characters";

const identifierCases: readonly Case[] = [
  ...[
    "../../etc/passwd",
    "ctr/1",
    "ctr:1",
    "ctr 1",
    "ctr\t1",
    ".",
    "..",
    "-ctr",
    "_ctr",
    ".ctr",
    "ctr-é",
    "ctr\u0000",
  ].map(invalidContainerId),
  invalidIfName("eth0123456789abc", ...TOO_LONG),
  // The kernel's limit is in bytes: 8 two-byte characters are 16 bytes.
  invalidIfName("éééééééé", ...TOO_LONG),
  invalidIfName("../eth0", SEPARATOR),
  invalidIfName("eth0/1", SEPARATOR),
  invalidIfName("eth0:1", SEPARATOR),
  invalidIfName("eth 0", SEPARATOR),
  invalidIfName("eth\t0", SEPARATOR),
  invalidIfName("eth0\n", SEPARATOR),
  invalidIfName("eth\u00a00", SEPARATOR),
  // U+0085 (NEXT LINE) is whitespace to Go's unicode.IsSpace, which the reference uses.
  invalidIfName("eth\u00850", SEPARATOR),
  invalidIfName("eth\u20280", SEPARATOR),
  // The kernel's isspace() reads single bytes as Latin-1: 0xa0, the second byte of "à", is a space.
  invalidIfName("brà", "interface name contains a byte the kernel reads as a space", "the UTF-8 byte 0xa0"),
  invalidIfName("eth%d", "interface name contains %, which the kernel reads as a name template"),
  invalidIfName("eth0%2f", "interface name contains %, which the kernel reads as a name template"),
  invalidIfName(".", "interface name is . or .."),
  invalidIfName("..", "interface name is . or .."),
];

describe("bad input", () => {
  for (const testCase of [...configCases, ...missingEnvCases, ...identifierCases]) {
    it(`${testCase.title} → code ${testCase.expected.code}`, async () => {
      const plugin = new FakePlugin();
      const env = testCase.env ?? attachmentEnv("ADD");
      const outcome = await invoke(plugin, { env, stdin: testCase.stdin });
      expectErrorReply(outcome, testCase.expected);
      expect(plugin.calls, "the plugin never runs").to.deep.equal([]);
      expect(outcome.probed, "no netns is looked at").to.deep.equal([]);
    });
  }

  it("a plugin that supports fewer versions refuses the others with its own list", async () => {
    const plugin = new FakePlugin({}, { versions: ["0.3.1", "0.4.0"] });
    const outcome = await invoke(plugin, { env: attachmentEnv("ADD"), stdin: config("1.0.0") });
    expectErrorReply(outcome, {
      cniVersion: "1.1.0",
      code: 1,
      msg: "incompatible CNI versions",
      details: 'config is "1.0.0", plugin supports ["0.3.1" "0.4.0"]',
    });
  });

  describe("identifiers that are valid", () => {
    const valid: readonly (readonly [string, string])[] = [
      ["CNI_CONTAINERID", "a"],
      ["CNI_CONTAINERID", "A1_b.c-d"],
      ["CNI_CONTAINERID", "0".repeat(64)],
      ["CNI_IFNAME", "eth0123456789ab"],
      ["CNI_IFNAME", "ééééééé"],
      ["CNI_IFNAME", "net-1_x.y@z"],
      ["CNI_IFNAME", "..."],
    ];
    for (const [name, value] of valid) {
      it(`${name}=${JSON.stringify(value)}`, async () => {
        const outcome = await invoke(new FakePlugin(), {
          env: { ...attachmentEnv("ADD"), [name]: value },
          stdin: config("1.0.0"),
        });
        expectSuccess(outcome, { cniVersion: "1.0.0" });
      });
    }

    it("network name lo-net_1.x", async () => {
      const stdin = config("1.0.0", { name: "lo-net_1.x" });
      expectSuccess(await invoke(new FakePlugin(), { env: attachmentEnv("DEL"), stdin }));
    });
  });

  describe("stdin size", () => {
    const padded = (size: number): string => {
      const text = JSON.stringify(config("1.0.0"));
      return text + " ".repeat(size - text.length);
    };

    it(`accepts exactly ${STDIN_LIMIT} bytes`, async () => {
      expect(STDIN_LIMIT).to.equal(1024 * 1024);
      const outcome = await invoke(new FakePlugin(), { env: attachmentEnv("DEL"), stdin: padded(STDIN_LIMIT) });
      expectSuccess(outcome);
    });

    it("refuses one byte more with code 5", async () => {
      const plugin = new FakePlugin();
      const outcome = await invoke(plugin, { env: attachmentEnv("DEL"), stdin: padded(STDIN_LIMIT + 1) });
      expectErrorReply(outcome, {
        cniVersion: "1.1.0",
        code: 5,
        msg: "error reading from stdin: stdin is larger than 1048576 bytes",
      });
      expect(plugin.calls).to.deep.equal([]);
    });

    it("reports a failed read with code 5", async () => {
      const io = new BufferedIo(attachmentEnv("ADD"), "");
      io.readStdin = () => Promise.reject(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
      const exitCode = await runPlugin(new FakePlugin(), io, {
        about: ABOUT,
        probeNetns: async () => "netns",
        runner: new FakeRunner(),
        find: findInFirstDirectory,
      });
      expect({ exitCode, stdout: io.output.map((line) => JSON.parse(line) as unknown) }).to.deep.equal({
        exitCode: 1,
        stdout: [{ cniVersion: "1.1.0", code: 5, msg: "error reading from stdin: EIO: i/o error, read" }],
      });
    });
  });

  describe("log configuration", () => {
    const cases: readonly (readonly [string, Record<string, string>, Record<string, unknown>, ExpectedError])[] = [
      [
        "an unknown logLevel",
        {},
        { logLevel: "loud" },
        {
          cniVersion: "1.0.0",
          code: 7,
          msg: 'invalid log level "loud"',
          details: "logLevel and TSCNI_LOG_LEVEL take one of error, warn, info, debug",
        },
      ],
      [
        "an unknown TSCNI_LOG_LEVEL",
        { TSCNI_LOG_LEVEL: "DEBUG" },
        {},
        {
          cniVersion: "1.0.0",
          code: 7,
          msg: 'invalid log level "DEBUG"',
          details: "logLevel and TSCNI_LOG_LEVEL take one of error, warn, info, debug",
        },
      ],
      [
        "a logLevel that is no string",
        {},
        { logLevel: 3 },
        { cniVersion: "1.0.0", code: 7, msg: "logLevel: expected a string, got number 3" },
      ],
      [
        "a logFile that is no string",
        {},
        { logFile: true },
        { cniVersion: "1.0.0", code: 7, msg: "logFile: expected a string, got boolean true" },
      ],
    ];
    for (const [title, env, extra, expected] of cases) {
      it(`${title} → code 7`, async () => {
        const plugin = new FakePlugin();
        const outcome = await invoke(plugin, {
          env: { ...attachmentEnv("ADD"), ...env },
          stdin: config("1.0.0", extra),
        });
        expectErrorReply(outcome, expected);
        expect(plugin.calls).to.deep.equal([]);
      });
    }
  });

  it("GC with only CNI_PATH set and a 1.0.0 config is refused for the version, not the environment", async () => {
    const outcome = await invoke(new FakePlugin(), { env: { CNI_COMMAND: "GC", CNI_PATH }, stdin: config("1.0.0") });
    expect(outcome.json).to.have.property("code", 1);
  });
});

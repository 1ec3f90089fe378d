// What a failing plugin command becomes: a CniError keeps its code, message and details; anything
// else is code 999 with the messages of its cause chain as details. The reply is in the config's
// version, for every verb.

import { expect } from "chai";

import { causeChain, CniError, encodeErrorReply, ErrorCode, toCniError } from "../../../cni/errors";
import type { PluginCommands } from "../../../cni/plugin";
import {
  attachmentEnv,
  CNI_PATH,
  config,
  expectErrorReply,
  type ExpectedError,
  FakePlugin,
  invoke,
} from "./support/harness";

const VERBS = ["ADD", "CHECK", "DEL", "GC", "STATUS"] as const;
type Verb = (typeof VERBS)[number];

/** A plugin whose `verb` command throws `error`. */
const failing = (verb: Verb, error: unknown): FakePlugin => {
  const fail = async (): Promise<never> => {
    throw error;
  };
  const behaviour: Partial<PluginCommands> = {
    ADD: { add: fail },
    CHECK: { check: fail },
    DEL: { del: fail },
    GC: { gc: fail },
    STATUS: { status: fail },
  }[verb];
  return new FakePlugin(behaviour);
};

const envFor = (verb: Verb): Record<string, string> =>
  verb === "GC" || verb === "STATUS" ? { CNI_COMMAND: verb, CNI_PATH } : attachmentEnv(verb);

const cases: readonly (readonly [string, unknown, Omit<ExpectedError, "cniVersion">])[] = [
  [
    "a CniError with details",
    new CniError(ErrorCode.TryAgainLater, "host-local: lock busy", "/var/lib/cni/networks/test-net/lock"),
    { code: 11, msg: "host-local: lock busy", details: "/var/lib/cni/networks/test-net/lock" },
  ],
  [
    "a CniError without details",
    new CniError(ErrorCode.UnsupportedField, 'unknown key "vlan"'),
    { code: 2, msg: 'unknown key "vlan"' },
  ],
  [
    "a plugin-specific code",
    new CniError(107, "bridge port is isolated"),
    { code: 107, msg: "bridge port is isolated" },
  ],
  [
    "a CniError with a cause keeps its own details",
    new CniError(ErrorCode.IoFailure, "reading lease", "disk", { cause: new Error("EIO") }),
    { code: 5, msg: "reading lease", details: "disk" },
  ],
  [
    "a plain Error with a cause chain",
    new Error("setting up veth", {
      cause: new Error("netlink RTM_NEWLINK", { cause: new Error("EEXIST: file exists", { cause: "errno 17" }) }),
    }),
    { code: 999, msg: "setting up veth", details: "netlink RTM_NEWLINK: EEXIST: file exists: errno 17" },
  ],
  ["a plain Error without a cause", new TypeError("x is undefined"), { code: 999, msg: "x is undefined" }],
  ["a thrown string", "boom", { code: 999, msg: "boom" }],
  ["a thrown object", { errno: 5 }, { code: 999, msg: "[object Object]" }],
];

describe("plugin errors", () => {
  for (const verb of VERBS) {
    for (const [title, error, expected] of cases) {
      it(`${verb}: ${title} → code ${expected.code}`, async () => {
        const outcome = await invoke(failing(verb, error), { env: envFor(verb), stdin: config("1.1.0") });
        expectErrorReply(outcome, { cniVersion: "1.1.0", ...expected });
      });
    }
  }

  it("STATUS reports code 50 and 51 unchanged", async () => {
    for (const code of [ErrorCode.NotAvailable, ErrorCode.LimitedConnectivity]) {
      const plugin = failing("STATUS", new CniError(code, "no addresses left in range", "10.22.0.0/24"));
      const outcome = await invoke(plugin, { env: envFor("STATUS"), stdin: config("1.1.0") });
      expectErrorReply(outcome, {
        cniVersion: "1.1.0",
        code,
        msg: "no addresses left in range",
        details: "10.22.0.0/24",
      });
    }
  });

  it("replies in the config's version", async () => {
    for (const version of ["0.1.0", "0.3.1", "1.0.0"]) {
      const outcome = await invoke(failing("ADD", new Error("no")), { env: envFor("ADD"), stdin: config(version) });
      expectErrorReply(outcome, { cniVersion: version, code: 999, msg: "no" });
    }
  });

  it("a plugin whose code fails to load is code 999", async () => {
    const plugin = new FakePlugin();
    plugin.load = () => Promise.reject(new Error("Cannot find module './bridge'"));
    const outcome = await invoke(plugin, { env: envFor("ADD"), stdin: config("1.0.0") });
    expectErrorReply(outcome, { cniVersion: "1.0.0", code: 999, msg: "Cannot find module './bridge'" });
  });

  describe("errors.ts", () => {
    it("stops a cyclic cause chain after 16 causes", () => {
      const a = new Error("a");
      const b = new Error("b", { cause: a });
      Object.defineProperty(a, "cause", { value: b });
      expect(causeChain(a)).to.equal("b: a: b: a: b: a: b: a: b: a: b: a: b: a: b: a");
    });

    it("returns a CniError itself, and wraps anything else with the original as cause", () => {
      const cniError = new CniError(3, "gone");
      expect(toCniError(cniError)).to.equal(cniError);
      const plain = new Error("plain");
      expect(toCniError(plain)).to.include({ code: 999, message: "plain", details: "", cause: plain });
    });

    it("encodes a reply with 4-space indentation, omitting empty details", () => {
      expect(encodeErrorReply(new CniError(7, "bad", "why"), "0.4.0")).to.equal(
        '{\n    "cniVersion": "0.4.0",\n    "code": 7,\n    "msg": "bad",\n    "details": "why"\n}',
      );
      expect(encodeErrorReply(new CniError(7, "bad"), "1.1.0")).to.equal(
        '{\n    "cniVersion": "1.1.0",\n    "code": 7,\n    "msg": "bad"\n}',
      );
    });
  });
});

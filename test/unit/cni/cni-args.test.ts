// CNI_ARGS ("K1=V1;K2=V2"), read the way the reference's types.LoadArgs reads it: each plugin names
// the keys it understands, any other key is an error unless IgnoreUnknown is 1/true.

import { expect } from "chai";

import { CniArgs } from "../../../cni/cni-args";
import { CniError } from "../../../cni/errors";
import { attachmentEnv, config, expectErrorReply, expectSuccess, FakePlugin, invoke } from "./support/harness";

const KUBERNETES =
  "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=9f1c";

describe("CNI_ARGS", () => {
  const loaded: readonly (readonly [string, string, readonly string[], Record<string, string>])[] = [
    ["empty", "", ["IP"], {}],
    ["known keys", "IP=10.22.0.9;MAC=0a:58:0a:16:00:09", ["IP", "MAC"], { IP: "10.22.0.9", MAC: "0a:58:0a:16:00:09" }],
    ["a subset of the known keys", "IP=10.22.0.9", ["IP", "MAC"], { IP: "10.22.0.9" }],
    ["the last of a repeated key", "IP=10.22.0.9;IP=10.22.0.10", ["IP"], { IP: "10.22.0.10" }],
    ["an empty value", "IP=", ["IP"], { IP: "" }],
    ["Kubernetes' arguments with IgnoreUnknown=1", KUBERNETES, ["K8S_POD_NAME"], { K8S_POD_NAME: "web-0" }],
    ["IgnoreUnknown=true after the unknown key", "FOO=bar;IgnoreUnknown=true", [], {}],
    ["IgnoreUnknown=TRUE", "IgnoreUnknown=TRUE;FOO=bar", [], {}],
    ["IgnoreUnknown=0 without unknown keys", "IgnoreUnknown=0;IP=10.0.0.1", ["IP"], { IP: "10.0.0.1" }],
  ];
  for (const [title, raw, known, values] of loaded) {
    it(`loads ${title}`, () => {
      expect(new CniArgs(raw).load(known)).to.deep.equal(values);
    });
  }

  const invalid: readonly (readonly [string, string, readonly string[], string])[] = [
    ["an unknown key", "IP=10.0.0.1;FOO=bar", ["IP"], 'invalid CNI_ARGS: unknown args ["FOO=bar"]'],
    ["several unknown keys", "A=1;B=2", [], 'invalid CNI_ARGS: unknown args ["A=1","B=2"]'],
    ["unknown keys with IgnoreUnknown=0", "IgnoreUnknown=0;A=1", [], 'invalid CNI_ARGS: unknown args ["A=1"]'],
    ["unknown keys with IgnoreUnknown=false", "A=1;IgnoreUnknown=false", [], 'invalid CNI_ARGS: unknown args ["A=1"]'],
    ["a pair without =", "IP", ["IP"], 'invalid CNI_ARGS: invalid pair "IP"'],
    ["a pair with two =", "IP=a=b", ["IP"], 'invalid CNI_ARGS: invalid pair "IP=a=b"'],
    ["a trailing ;", "IP=10.0.0.1;", ["IP"], 'invalid CNI_ARGS: invalid pair ""'],
    [
      "IgnoreUnknown that is no boolean",
      "IgnoreUnknown=yes;FOO=bar",
      [],
      'invalid CNI_ARGS: IgnoreUnknown must be 1, true, 0 or false, not "yes"',
    ],
    // The reference parses IgnoreUnknown like any field, so a bad value fails even with no unknown key.
    [
      "IgnoreUnknown that is no boolean, without unknown keys",
      "IgnoreUnknown=2;IP=10.0.0.1",
      ["IP"],
      'invalid CNI_ARGS: IgnoreUnknown must be 1, true, 0 or false, not "2"',
    ],
  ];
  for (const [title, raw, known, message] of invalid) {
    it(`refuses ${title} with code 4`, () => {
      expect(() => new CniArgs(raw).load(known))
        .to.throw(CniError)
        .that.deep.includes({ code: 4, message, details: "" });
    });
  }

  describe("through the skeleton", () => {
    it("is handed to the plugin unparsed: a plugin that takes no arguments accepts anything", async () => {
      const plugin = new FakePlugin();
      const outcome = await invoke(plugin, {
        env: { ...attachmentEnv("ADD"), CNI_ARGS: "not;pairs=at=all" },
        stdin: config("1.0.0"),
      });
      expectSuccess(outcome, { cniVersion: "1.0.0" });
      expect(plugin.onlyAttachmentRequest().cniArgs.raw).to.equal("not;pairs=at=all");
    });

    it("is empty when unset", async () => {
      const plugin = new FakePlugin();
      await invoke(plugin, { env: attachmentEnv("DEL"), stdin: config("1.0.0") });
      expect(plugin.onlyAttachmentRequest().cniArgs.load(["IP"])).to.deep.equal({});
    });

    for (const verb of ["ADD", "CHECK", "DEL"]) {
      it(`${verb}: an unknown key, when the plugin loads its arguments, is code 4`, async () => {
        const load = async (request: { cniArgs: CniArgs }): Promise<void> => {
          request.cniArgs.load(["IP"]);
        };
        const plugin = new FakePlugin({
          add: async (request) => {
            await load(request);
            throw new Error("unreachable");
          },
          check: load,
          del: load,
        });
        const outcome = await invoke(plugin, {
          env: { ...attachmentEnv(verb), CNI_ARGS: "IP=10.22.0.9;K8S_POD_NAME=web-0" },
          stdin: config("1.0.0"),
        });
        expectErrorReply(outcome, {
          cniVersion: "1.0.0",
          code: 4,
          msg: 'invalid CNI_ARGS: unknown args ["K8S_POD_NAME=web-0"]',
        });
      });
    }
  });
});

// Results in every spec version: the exact JSON a plugin prints for the config's version, reading
// results (prevResult, delegate replies) of any version, and conversions in both directions.

import { expect } from "chai";

import { decodeResult, emptyResult, encodeResult, ResultDecodeError, type Result } from "../../../cni/result";
import { SPEC_VERSIONS } from "../../../cni/version";
import { attachmentEnv, config, expectErrorReply, expectSuccess, FakePlugin, invoke } from "./support/harness";
import { DECODED_FAMILY, RICH_DECODED, RICH_JSON, RICH_RESULT, richConverted } from "./support/results";

const returning = (result: Result): FakePlugin => new FakePlugin({ add: async () => result });
const echoingPrevResult = (): FakePlugin =>
  new FakePlugin({ add: async (request) => request.prevResult ?? emptyResult() });

describe("results", () => {
  describe("encoding in each version", () => {
    for (const version of SPEC_VERSIONS) {
      it(`${version}: exactly that version's schema`, () => {
        expect(encodeResult(RICH_RESULT, version)).to.deep.equal(RICH_JSON[version]);
      });
    }

    it("0.1/0.2: a family without an address has no key, and its routes are dropped", () => {
      const result: Result = {
        interfaces: [{ name: "eth0" }],
        ips: [{ address: "fd00::5/64" }, { address: "fd00::6/64" }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "fd01::/64" }],
        dns: {},
      };
      expect(encodeResult(result, "0.2.0")).to.deep.equal({
        cniVersion: "0.2.0",
        ip6: { ip: "fd00::5/64", routes: [{ dst: "fd01::/64" }] },
      });
    });

    it("omits empty lists, an empty dns and empty dns lists", () => {
      for (const version of SPEC_VERSIONS) {
        expect(encodeResult(emptyResult(), version), version).to.deep.equal({ cniVersion: version });
        const dns = { nameservers: [], search: [], options: [], domain: "example.org" };
        expect(encodeResult({ ...emptyResult(), dns }, version), version).to.deep.equal({
          cniVersion: version,
          dns: { domain: "example.org" },
        });
      }
    });

    it("keeps interface index 0 (loopback's)", () => {
      const result: Result = {
        ...emptyResult(),
        interfaces: [{ name: "lo" }],
        ips: [{ interface: 0, address: "127.0.0.1/8" }],
      };
      expect(encodeResult(result, "1.0.0")).to.deep.equal({
        cniVersion: "1.0.0",
        interfaces: [{ name: "lo" }],
        ips: [{ interface: 0, address: "127.0.0.1/8" }],
      });
    });
  });

  describe("decoding each version", () => {
    for (const version of SPEC_VERSIONS) {
      it(`${version}: keeps what the schema holds`, () => {
        expect(decodeResult(RICH_JSON[version], "1.1.0")).to.deep.equal({
          version,
          result: RICH_DECODED[DECODED_FAMILY[version]],
        });
      });
    }

    it("1.1.0 round-trips without loss", () => {
      expect(decodeResult(encodeResult(RICH_RESULT, "1.1.0"), "0.1.0").result).to.deep.equal(RICH_RESULT);
    });

    it("reads a result without cniVersion in the given default version, as libcni injects it", () => {
      const { cniVersion: _, ...withoutVersion } = RICH_JSON["0.2.0"];
      expect(decodeResult(withoutVersion, "0.1.0")).to.deep.equal({ version: "0.1.0", result: RICH_DECODED["0.2"] });
      // The same object read as 1.x has no ips, interfaces or routes: only dns survives.
      expect(decodeResult(withoutVersion, "1.0.0")).to.deep.equal({
        version: "1.0.0",
        result: { ...emptyResult(), dns: RICH_DECODED["0.2"].dns },
      });
    });

    it("treats JSON null fields as absent and an empty gateway as none", () => {
      const json = { cniVersion: "1.0.0", interfaces: null, ips: [{ address: "10.0.0.2/24", gateway: "" }], dns: null };
      expect(decodeResult(json, "1.0.0").result).to.deep.equal({
        interfaces: [],
        ips: [{ address: "10.0.0.2/24" }],
        routes: [],
        dns: {},
      });
    });

    const invalid: readonly (readonly [string, unknown, string])[] = [
      ["not an object", "ips", '(root): expected an object, got the string "ips"'],
      ["an array", [], "(root): expected an object, got an array"],
      ["an unknown version", { cniVersion: "2.0.0" }, 'unsupported result version "2.0.0"'],
      ["ips not an array", { cniVersion: "1.0.0", ips: {} }, "ips: expected an array, got an object"],
      [
        "an address that is no CIDR",
        { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2" }] },
        'invalid CIDR "10.0.0.2"',
      ],
      ["a missing address", { cniVersion: "1.0.0", ips: [{}] }, "ips[0].address: expected a string, got nothing"],
      [
        "a gateway that is no IP",
        { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.256" }] },
        'ips[0].gateway: expected an IP address, got the string "10.0.0.256"',
      ],
      [
        "a route scope beyond 255",
        { cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0", scope: 256 }] },
        "routes[0].scope: expected an integer from 0 to 255, got number 256",
      ],
      [
        "a negative MTU",
        { cniVersion: "1.1.0", interfaces: [{ name: "eth0", mtu: -1 }] },
        "interfaces[0].mtu: expected an integer from 0 to 9007199254740991, got number -1",
      ],
      [
        "an interface without name",
        { cniVersion: "1.0.0", interfaces: [{}] },
        "interfaces[0].name: expected a string, got nothing",
      ],
      [
        "0.2 ip4 without ip",
        { cniVersion: "0.2.0", ip4: { gateway: "10.0.0.1" } },
        "ip4.ip: expected a string, got nothing",
      ],
      ["0.2 ip6 not a CIDR", { cniVersion: "0.2.0", ip6: { ip: "fd00::1" } }, 'invalid CIDR "fd00::1"'],
      [
        "dns nameservers not strings",
        { cniVersion: "1.0.0", dns: { nameservers: [53] } },
        "dns.nameservers: expected an array of strings, got an array",
      ],
    ];
    for (const [title, json, message] of invalid) {
      it(`rejects ${title}`, () => {
        expect(() => decodeResult(json, "1.0.0"))
          .to.throw(ResultDecodeError)
          .with.property("message", message);
      });
    }
  });

  describe("ADD prints its result in the config's version", () => {
    for (const version of SPEC_VERSIONS) {
      it(`cniVersion ${version}`, async () => {
        const outcome = await invoke(returning(RICH_RESULT), { env: attachmentEnv("ADD"), stdin: config(version) });
        expectSuccess(outcome, RICH_JSON[version]);
      });
    }

    it("as indented JSON (4 spaces), like the reference's MarshalIndent", async () => {
      const result: Result = { ...emptyResult(), interfaces: [{ name: "lo", sandbox: "/run/netns/pod" }] };
      const outcome = await invoke(returning(result), { env: attachmentEnv("ADD"), stdin: config("1.0.0") });
      expect(outcome.stdout).to.deep.equal([
        '{\n    "cniVersion": "1.0.0",\n    "interfaces": [\n        {\n            "name": "lo",\n            "sandbox": "/run/netns/pod"\n        }\n    ]\n}',
      ]);
    });
  });

  describe("prevResult", () => {
    // Every pair (prevResult version, config version): decoded by its own cniVersion, handed to the
    // plugin in the internal shape, and printed again in the config's version.
    for (const from of SPEC_VERSIONS) {
      for (const to of SPEC_VERSIONS) {
        it(`a ${from} prevResult under a ${to} config`, async () => {
          const plugin = echoingPrevResult();
          const outcome = await invoke(plugin, {
            env: attachmentEnv("ADD"),
            stdin: config(to, { prevResult: RICH_JSON[from] }),
          });
          expectSuccess(outcome, richConverted(from, to));
          expect(plugin.onlyAttachmentRequest().prevResult).to.deep.equal(RICH_DECODED[DECODED_FAMILY[from]]);
        });
      }
    }

    it("without cniVersion is read in the config's version", async () => {
      const { cniVersion: _, ...prevResult } = RICH_JSON["0.2.0"];
      const plugin = echoingPrevResult();
      const outcome = await invoke(plugin, { env: attachmentEnv("ADD"), stdin: config("0.2.0", { prevResult }) });
      expectSuccess(outcome, RICH_JSON["0.2.0"]);
      expect(plugin.onlyAttachmentRequest().prevResult).to.deep.equal(RICH_DECODED["0.2"]);
    });

    for (const verb of ["CHECK", "DEL"] as const) {
      it(`reaches ${verb} decoded`, async () => {
        const plugin = new FakePlugin();
        const outcome = await invoke(plugin, {
          env: attachmentEnv(verb),
          stdin: config("0.4.0", { prevResult: RICH_JSON["0.4.0"] }),
        });
        expectSuccess(outcome);
        expect(plugin.onlyCall().request).to.have.deep.property("prevResult", RICH_DECODED["0.4"]);
      });
    }

    for (const absent of [undefined, null]) {
      it(`is undefined when ${String(absent)}`, async () => {
        const plugin = new FakePlugin();
        const stdin = absent === undefined ? config("1.0.0") : config("1.0.0", { prevResult: null });
        expectSuccess(await invoke(plugin, { env: attachmentEnv("CHECK"), stdin }));
        expect(plugin.onlyAttachmentRequest().prevResult).to.equal(undefined);
      });
    }

    const invalid: readonly (readonly [string, unknown, string])[] = [
      ["not an object", "10.0.0.2/24", '(root): expected an object, got the string "10.0.0.2/24"'],
      ["with an invalid address", { ips: [{ address: "not-an-ip" }] }, 'invalid CIDR "not-an-ip"'],
      ["of an unknown version", { cniVersion: "0.5.0" }, 'unsupported result version "0.5.0"'],
      ["with routes not an array", { routes: "0.0.0.0/0" }, 'routes: expected an array, got the string "0.0.0.0/0"'],
    ];
    for (const verb of ["ADD", "CHECK", "DEL"] as const) {
      for (const [title, prevResult, details] of invalid) {
        it(`${verb}: ${title} → code 6, before the plugin runs`, async () => {
          const plugin = new FakePlugin();
          const outcome = await invoke(plugin, { env: attachmentEnv(verb), stdin: config("0.4.0", { prevResult }) });
          expectErrorReply(outcome, { cniVersion: "0.4.0", code: 6, msg: "could not parse prevResult", details });
          expect(plugin.calls).to.deep.equal([]);
        });
      }
    }
  });
});

// The small pieces under the skeleton: spec versions, the JSON reader for untrusted input, and
// the buffered Io used by tests and by in-process delegation.

import { expect } from "chai";

import { BufferedIo, StdinTooLargeError } from "../../../cni/io";
import { JsonReader, JsonShapeError } from "../../../cni/json";
import {
  compareVersions,
  encodeVersionInfo,
  isSpecVersion,
  resultFamily,
  SPEC_VERSIONS,
  versionAtLeast,
} from "../../../cni/version";

describe("spec versions", () => {
  it("are the seven of the spec, oldest first", () => {
    expect(SPEC_VERSIONS).to.deep.equal(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  it("compare numerically, not as text", () => {
    expect(compareVersions("0.10.0", "0.9.0")).to.be.above(0);
    expect(compareVersions("1.0.0", "0.4.0")).to.be.above(0);
    expect(compareVersions("0.3.1", "0.3.1")).to.equal(0);
    expect(compareVersions("0.3.0", "0.3.1")).to.be.below(0);
    expect(versionAtLeast("0.4.0", "0.4.0")).to.equal(true);
    expect(versionAtLeast("0.3.1", "0.4.0")).to.equal(false);
  });

  for (const invalid of ["1.0", "v1.0.0", "1.0.0-rc1", "", "1..0"]) {
    it(`refuse to compare ${JSON.stringify(invalid)}`, () => {
      expect(() => compareVersions(invalid, "1.0.0")).to.throw(
        RangeError,
        `invalid version ${JSON.stringify(invalid)}`,
      );
    });
  }

  it("are recognised exactly", () => {
    expect(SPEC_VERSIONS.every(isSpecVersion)).to.equal(true);
    for (const other of ["0.5.0", "1.0", "1.0.0 ", "", "1.2.0"]) expect(isSpecVersion(other), other).to.equal(false);
  });

  it("map to the three result shapes", () => {
    expect(SPEC_VERSIONS.map(resultFamily)).to.deep.equal(["0.2", "0.2", "0.4", "0.4", "0.4", "1.x", "1.x"]);
  });

  it("are reported by VERSION as Go's json.Encoder writes them: compact, one newline", () => {
    expect(encodeVersionInfo(["0.4.0", "1.0.0"])).to.equal(
      '{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0"]}\n',
    );
  });
});

describe("JsonReader", () => {
  const reader = new JsonReader({
    s: "text",
    n: 42,
    f: 1.5,
    b: false,
    nul: null,
    list: ["a", "b"],
    ipam: { ranges: [{ subnet: 10 }] },
  });

  it("reads present values and treats null and absent keys alike", () => {
    expect(reader.string("s")).to.equal("text");
    expect(reader.integer("n", 0, 42)).to.equal(42);
    expect(reader.boolean("b")).to.equal(false);
    expect(reader.stringArray("list")).to.deep.equal(["a", "b"]);
    for (const key of ["nul", "missing"]) {
      expect([reader.string(key), reader.integer(key), reader.boolean(key), reader.child(key)]).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      expect(reader.has(key)).to.equal(false);
    }
    expect(reader.has("b")).to.equal(true);
  });

  const errors: readonly (readonly [string, () => unknown, string])[] = [
    ["a non-object root", () => new JsonReader([1]), "(root): expected an object, got an array"],
    ["a string of the wrong type", () => reader.string("n"), "n: expected a string, got number 42"],
    ["a boolean of the wrong type", () => reader.boolean("s"), 's: expected a boolean, got the string "text"'],
    ["an integer above max", () => reader.integer("n", 0, 41), "n: expected an integer from 0 to 41, got number 42"],
    [
      "a fraction",
      () => reader.integer("f"),
      "f: expected an integer from -9007199254740991 to 9007199254740991, got number 1.5",
    ],
    ["a missing required string", () => reader.requireString("missing"), "missing: expected a string, got nothing"],
    [
      "a list of non-strings",
      () => new JsonReader({ l: ["a", 1] }).stringArray("l"),
      "l: expected an array of strings, got an array",
    ],
    [
      "a nested value, with its full path",
      () => reader.child("ipam")?.array("ranges", (v, path) => new JsonReader(v, path).string("subnet")),
      "ipam.ranges[0].subnet: expected a string, got number 10",
    ],
    [
      "a long string, shortened in the message",
      () => new JsonReader({ k: "x".repeat(100) }).integer("k"),
      `k: expected an integer from -9007199254740991 to 9007199254740991, got the string "${"x".repeat(64)}…"`,
    ],
  ];
  for (const [title, action, message] of errors) {
    it(`names the key of ${title}`, () => {
      expect(action).to.throw(JsonShapeError).with.property("message", message);
    });
  }
});

describe("BufferedIo", () => {
  it("hands out its input up to the limit, and refuses beyond it", async () => {
    const io = new BufferedIo({}, "12345");
    expect(new TextDecoder().decode(await io.readStdin(5))).to.equal("12345");
    const refused = await io.readStdin(4).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused)
      .to.be.instanceOf(StdinTooLargeError)
      .and.include({ limit: 4, message: "stdin is larger than 4 bytes" });
  });

  it("keeps stdout and stderr apart, and forwards stderr when asked", () => {
    const forwarded: string[] = [];
    const io = new BufferedIo({ A: "1" }, new Uint8Array(), (line) => forwarded.push(line));
    io.stdout("{}");
    io.stdout("second");
    io.stderr("log");
    expect(io.stdoutText).to.equal("{}\nsecond\n");
    expect(io.errors).to.deep.equal(["log"]);
    expect(forwarded).to.deep.equal(["log"]);
    expect(io.env).to.deep.equal({ A: "1" });
  });
});

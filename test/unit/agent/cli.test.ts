// The agent's lease timing flags: flanneld's whole minutes for the renew margin, plus fractions
// so that a TTL under a few minutes (e.g. nodes that come and go) can be configured at all.

import { expect } from "chai";
import yargs from "yargs";

import { daemonOptions } from "../../../agent/cli";

function parse(args: readonly string[]): Record<string, unknown> {
  return daemonOptions(yargs([]))
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseSync([...args]) as Record<string, unknown>;
}

describe("agent: lease TTL and renew margin flags", () => {
  it("takes flanneld's defaults and whole minutes", () => {
    expect(parse([])).to.include({ "subnet-lease-renew-margin": 60, "subnet-lease-ttl": 86400 });
    expect(parse(["--subnet-lease-renew-margin", "1439"])).to.include({ "subnet-lease-renew-margin": 1439 });
  });

  it("takes a fraction of a minute with a TTL longer than the margin", () => {
    expect(parse(["--subnet-lease-ttl", "20", "--subnet-lease-renew-margin", "0.1"])).to.include({
      "subnet-lease-ttl": 20,
      "subnet-lease-renew-margin": 0.1,
    });
  });

  for (const [title, args, message] of [
    ["a margin of 0", ["--subnet-lease-renew-margin", "0"], /more than 0 and less than 1440/],
    ["a margin of a day", ["--subnet-lease-renew-margin", "1440", "--subnet-lease-ttl", "999999"], /less than 1440/],
    ["a TTL not longer than the margin", ["--subnet-lease-ttl", "6", "--subnet-lease-renew-margin", "0.1"], /longer/],
  ] as const) {
    it(`refuses ${title}`, () => {
      expect(() => parse(args)).to.throw(message);
    });
  }
});

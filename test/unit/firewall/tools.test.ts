// The tool runner's errors and retries, with ordinary programs standing in for the netfilter tools.

import { expect } from "chai";

import { FirewallToolError, runTool, withConflictRetries } from "../../../firewall/tools";

describe("firewall: tool runner", () => {
  it("returns stdout and feeds stdin", async () => {
    expect(await runTool("cat", [], "*nat\nCOMMIT\n")).to.equal("*nat\nCOMMIT\n");
  });

  it("reports a failure with the tool's exit status and stderr", async () => {
    const error = await runTool("sh", ["-c", "echo 'line 2 failed' >&2; exit 4"], "input").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FirewallToolError);
    const failure = error as FirewallToolError;
    expect(failure.exitStatus).to.equal(4);
    expect(failure.stderr).to.equal("line 2 failed\n");
    expect(failure.input).to.equal("input");
    expect(failure.notInstalled).to.equal(false);
    expect(failure.message).to.match(/exited with status 4: line 2 failed$/);
  });

  it("reports a missing tool as not installed, with the spawn error as cause", async () => {
    const error = (await runTool("/nonexistent/iptables-save", []).catch((e: unknown) => e)) as FirewallToolError;
    expect(error).to.be.instanceOf(FirewallToolError);
    expect(error.notInstalled).to.equal(true);
    expect(error.exitStatus).to.equal(undefined);
    expect((error.cause as NodeJS.ErrnoException).code).to.equal("ENOENT");
  });

  it("retries a step whose write a tool rejected, up to three attempts", async () => {
    let calls = 0;
    const conflict = new FirewallToolError("iptables-restore", [], { exitStatus: 1 });
    const result = await withConflictRetries(async () => {
      if (++calls < 3) throw conflict;
      return "done";
    });
    expect([result, calls]).to.deep.equal(["done", 3]);
    calls = 0;
    const always = await withConflictRetries(async () => {
      calls++;
      throw conflict;
    }).catch((e: unknown) => e);
    expect([always, calls]).to.deep.equal([conflict, 3]);
  });

  it("does not retry errors that are not a tool's rejection", async () => {
    let calls = 0;
    const bug = new TypeError("bug");
    const missing = new FirewallToolError("nft", [], { reason: "could not be run" });
    for (const error of [bug, missing]) {
      calls = 0;
      const thrown = await withConflictRetries(async () => {
        calls++;
        throw error;
      }).catch((e: unknown) => e);
      expect([thrown, calls]).to.deep.equal([error, 1]);
    }
  });
});

// Rollback: undo in reverse order on failure, nothing on success, and a failing undo stops nothing.

import { expect } from "chai";

import type { Logger } from "../../../cni/log";
import { Rollback } from "../../../cni/rollback";

function recordingLogger(records: string[]): Logger {
  const logger: Logger = {
    error: (message, meta) => records.push(`error ${message} ${JSON.stringify(meta)}`),
    warn: () => {},
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

describe("Rollback", () => {
  it("undoes everything, newest first, when the work fails, and rethrows its error", async () => {
    const done: string[] = [];
    const rollback = new Rollback(recordingLogger([]));
    const failure = new Error("route could not be added");
    const outcome = rollback.guard(async () => {
      rollback.defer("veth", () => done.push("veth"));
      rollback.defer("ipam", async () => {
        await Promise.resolve();
        done.push("ipam");
      });
      throw failure;
    });
    await outcome.then(
      () => expect.fail("guard resolved"),
      (error: unknown) => expect(error).to.equal(failure),
    );
    expect(done).to.deep.equal(["ipam", "veth"]);
  });

  it("undoes nothing when the work succeeds", async () => {
    const done: string[] = [];
    const rollback = new Rollback(recordingLogger([]));
    const value = await rollback.guard(async () => {
      rollback.defer("veth", () => done.push("veth"));
      return 42;
    });
    expect(value).to.equal(42);
    expect(done).to.deep.equal([]);
  });

  it("logs an undo that fails and still runs the others", async () => {
    const done: string[] = [];
    const records: string[] = [];
    const rollback = new Rollback(recordingLogger(records));
    await rollback
      .guard(async () => {
        rollback.defer("veth", () => done.push("veth"));
        rollback.defer("ipam", () => {
          throw new Error("ipam is down");
        });
        throw new Error("boom");
      })
      .catch(() => {});
    expect(done).to.deep.equal(["veth"]);
    expect(records).to.have.length(1);
    expect(records[0]).to.contain("could not undo ipam").and.contain("ipam is down").and.contain("boom");
  });
});

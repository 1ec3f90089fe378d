// The plugins' data dirs on a full filesystem and on a read-only one: a tiny tmpfs mounted over the
// node's state directory in a mount namespace of its own (test/helpers/mount-ns.ts), the plugins run
// inside it. An ADD that cannot write fails with a clear CNI error (code 5, the system's reason and
// the directory named) and leaves nothing: no partial or temporary file, and its veth, rules and
// reservations rolled back. Once the filesystem can be written again, DEL and GC leave nothing.
// Both chains (bridge + host-local with iptables masquerade, flannel with nftables) share the tmpfs.

import { expect } from "chai";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

import { PrivateTmpfs } from "../../helpers/mount-ns";
import { run, type RunResult } from "../../helpers/run";
import { scratchDir } from "../../helpers/suite";
import { leftovers, podInterfaces } from "../../reliability/leftovers";
import { type Chain, type Pod, ReliabilityNode } from "../../reliability/node";

const PAGE = 4096;

describe("data dirs on a full or read-only filesystem", function () {
  this.timeout(120_000);
  let root: string;
  let tmpfs: PrivateTmpfs;
  let node: ReliabilityNode;
  const pods: Pod[] = [];

  beforeEach(async () => {
    root = scratchDir("data-dir");
    const state = join(root, "state");
    mkdirSync(state);
    tmpfs = await PrivateTmpfs.mount(state, "size=256k,nr_inodes=200");
    node = new ReliabilityNode(
      [
        { kind: "bridge", backend: "iptables" },
        { kind: "flannel", backend: "nftables" },
      ],
      { stateDir: state, viewPrefix: tmpfs.viewPrefix, wrap: (command, args) => tmpfs.wrap(command, args) },
    );
  });
  afterEach(async () => {
    for (const pod of pods.splice(0)) pod.ns.delete();
    node.remove();
    await tmpfs.unmount();
    rmSync(root, { recursive: true, force: true });
  });

  const newPod = (): Pod => {
    const pod = node.pod();
    pods.push(pod);
    return pod;
  };
  const call = (command: "ADD" | "DEL", chain: Chain, pod: Pod): RunResult => {
    const invocation = node.invocation(command, chain, chain.config(), pod);
    return run(invocation.command, invocation.args, { env: invocation.env, input: invocation.stdin });
  };
  const gc = (chain: Chain, valid: readonly Pod[]): RunResult => {
    const attachments = valid.map((pod) => ({ containerID: pod.containerId, ifname: pod.ifName }));
    const config = chain.config("1.1.0", { "cni.dev/valid-attachments": attachments });
    const invocation = node.invocation("GC", chain, config);
    return run(invocation.command, invocation.args, { env: invocation.env, input: invocation.stdin });
  };
  const reply = (result: RunResult) => JSON.parse(result.stdout) as { code?: number; msg?: string; details?: string };
  const describeLeftovers = (pod?: Pod) =>
    [...(pod === undefined ? [] : podInterfaces(pod.ns)), ...leftovers(node)].map(
      (item) => `${item.kind}: ${item.what}`,
    );

  /** Fills the tmpfs to the last page, then frees `pages` pages. */
  const fillLeaving = (pages: number): void => {
    const path = tmpfs.view(join(node.stateDir, "filler"));
    const fd = openSync(path, "w");
    try {
      const page = Buffer.alloc(PAGE);
      for (;;) {
        try {
          writeSync(fd, page);
        } catch (error: unknown) {
          if ((error as { code?: string }).code === "ENOSPC") break;
          throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
    if (pages > 0) run("truncate", ["--size", `-${pages * PAGE}`, path]);
  };

  const emptyAgain = (): void => rmSync(tmpfs.view(join(node.stateDir, "filler")), { force: true });

  it("with 0 to 5 pages free, each ADD succeeds whole or fails with code 5 naming the reason and leaves nothing; DEL and GC then leave nothing", () => {
    let failures = 0;
    for (let free = 0; free <= 5; free++) {
      for (const chain of node.chains) {
        fillLeaving(free);
        const pod = newPod();
        const added = call("ADD", chain, pod);
        if (added.status !== 0) {
          failures += 1;
          const error = reply(added);
          expect(error.code, added.stdout).to.equal(5);
          expect(`${error.msg} ${error.details ?? ""}`).to.match(/no space left on device/);
          expect(`${error.msg}`).to.contain(node.stateDir);
          // The failed ADD undid itself: nothing of it is left, before any DEL.
          expect(describeLeftovers(pod), `${chain.label}, ${free} pages free`).to.deep.equal([]);
        } else {
          expect(describeLeftovers().filter((item) => item.startsWith("partial file"))).to.deep.equal([]);
        }
        emptyAgain();
        expect(call("DEL", chain, pod).status).to.equal(0);
        expect(gc(chain, []).status).to.equal(0);
        expect(describeLeftovers(pod), `${chain.label}, ${free} pages free`).to.deep.equal([]);
      }
    }
    expect(failures, "ADDs that met a full filesystem").to.be.greaterThan(4);
    // Space is back: ADD works.
    for (const chain of node.chains) expect(call("ADD", chain, newPod()).status).to.equal(0);
  });

  it("with no inode left, ADD fails with code 5 naming the reason and leaves nothing", () => {
    const made: string[] = [];
    try {
      for (let i = 0; ; i++) {
        const path = tmpfs.view(join(node.stateDir, `inode-${i}`));
        try {
          closeSync(openSync(path, "w"));
        } catch (error: unknown) {
          if ((error as { code?: string }).code === "ENOSPC") break;
          throw error;
        }
        made.push(path);
      }
      for (const chain of node.chains) {
        const pod = newPod();
        const added = call("ADD", chain, pod);
        expect(added.status).to.equal(1);
        expect(reply(added)).to.include({ code: 5 });
        expect(`${reply(added).msg} ${reply(added).details ?? ""}`).to.match(/no space left on device/);
        expect(describeLeftovers(pod)).to.deep.equal([]);
      }
    } finally {
      for (const path of made) rmSync(path);
    }
    for (const chain of node.chains) expect(call("ADD", chain, newPod()).status).to.equal(0);
  });

  it("read-only: ADD fails with code 5 naming it and leaves nothing; DEL reports it and keeps what it could not release; writable again, DEL and GC leave nothing", () => {
    const attached = node.chains.map((chain) => {
      const pod = newPod();
      expect(call("ADD", chain, pod).status).to.equal(0);
      return { chain, pod };
    });
    const before = describeLeftovers();
    tmpfs.setReadOnly(true);
    try {
      for (const chain of node.chains) {
        const pod = newPod();
        const added = call("ADD", chain, pod);
        expect(added.status).to.equal(1);
        expect(reply(added)).to.include({ code: 5 });
        expect(`${reply(added).msg} ${reply(added).details ?? ""}`).to.match(/read-only file system/);
        // Only the attached pods' state: nothing of the failed ADD.
        expect(describeLeftovers(pod)).to.deep.equal(before);
      }
      // DEL cannot release the reservation: it says so (the runtime retries) rather than leak silently.
      for (const { chain, pod } of attached) {
        const deleted = call("DEL", chain, pod);
        expect(deleted.status, `${chain.label}: ${deleted.stdout}`).to.equal(1);
        expect(`${reply(deleted).msg} ${reply(deleted).details ?? ""}`).to.match(/read-only file system/);
      }
    } finally {
      tmpfs.setReadOnly(false);
    }
    for (const { chain, pod } of attached) expect(call("DEL", chain, pod).status).to.equal(0);
    for (const chain of node.chains) expect(gc(chain, []).status).to.equal(0);
    expect(describeLeftovers()).to.deep.equal([]);
  });
});

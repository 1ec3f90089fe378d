// GC and STATUS (spec 1.1.0) by direct invocation, libcni 1.1.2 having neither: both delegate to the
// IPAM plugin with the same stdin, and report its failure; an L2 network has nothing to delegate.

import { expect } from "chai";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { callPlugin } from "../../../helpers/cni-exec";
import { pluginPath, scratchDir } from "../../../helpers/suite";
import { useBridgeNode } from "./fixture";

describe("bridge GC and STATUS (compiled binary)", () => {
  const fixture = useBridgeNode();
  let dir: string;

  // An IPAM plugin that records each call (command and stdin) and fails when FAIL is set.
  beforeEach(() => {
    dir = scratchDir("recording-ipam");
    writeFileSync(
      join(dir, "recording-ipam"),
      [
        "#!/bin/sh",
        'printf "%s " "$CNI_COMMAND" >> "$LOG"; cat >> "$LOG"; echo >> "$LOG"',
        'if [ -n "$FAIL" ]; then printf \'{"cniVersion":"1.1.0","code":50,"msg":"%s"}\' "$FAIL"; exit 1; fi',
        "",
      ].join("\n"),
    );
    chmodSync(join(dir, "recording-ipam"), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = (keys: Record<string, unknown> = {}) => ({
    cniVersion: "1.1.0",
    name: "bridgenet",
    type: "bridge",
    ipam: { type: "recording-ipam" },
    ...keys,
  });
  const invoke = (command: string, stdin: unknown, env: Record<string, string> = {}) =>
    callPlugin({
      plugin: pluginPath("bridge"),
      command,
      host: fixture.node.host,
      config: stdin,
      env: { CNI_PATH: dir, LOG: join(dir, "log"), ...env },
    });
  const log = () => readFileSync(join(dir, "log"), "utf8").trim().split("\n");

  it("STATUS delegates to IPAM with the same stdin and succeeds with it", () => {
    const stdin = config();
    const reply = invoke("STATUS", stdin);
    expect(reply.status, reply.stdout).to.equal(0);
    expect(reply.stdout).to.equal("");
    expect(log()).to.deep.equal([`STATUS ${JSON.stringify(stdin)}`]);
  });

  it("STATUS reports IPAM's error (code 50: no address left)", () => {
    const reply = invoke("STATUS", config(), { FAIL: "range exhausted" });
    expect(reply.status).to.equal(1);
    expect(reply.json).to.include({ code: 50, msg: "range exhausted" });
  });

  it("GC delegates to IPAM with the valid attachments", () => {
    const stdin = config({ "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }] });
    const reply = invoke("GC", stdin);
    expect(reply.status, reply.stdout).to.equal(0);
    expect(log()).to.deep.equal([`GC ${JSON.stringify(stdin)}`]);
  });

  it("GC reports IPAM's failure", () => {
    const reply = invoke("GC", config({ "cni.dev/valid-attachments": [] }), { FAIL: "disk on fire" });
    expect(reply.status).to.equal(1);
    expect(reply.json?.["msg"]).to.equal("disk on fire");
  });

  it("through our host-local: STATUS is ready, then code 50 once the range is exhausted; GC releases stale reservations", () => {
    const { node } = fixture;
    const config = node.config({
      cniVersion: "1.1.0",
      ipam: {
        type: "host-local",
        subnet: "10.22.0.0/24",
        rangeStart: "10.22.0.2",
        rangeEnd: "10.22.0.3",
        dataDir: node.dataDir,
      },
    });
    const status = () => node.call("STATUS", undefined, config);
    expect(status().status).to.equal(0);
    const [kept, stale] = [node.pod(), node.pod()];
    node.addOk(kept, config);
    node.addOk(stale, config);
    const exhausted = status();
    expect(exhausted.status).to.equal(1);
    expect(exhausted.json?.["code"]).to.equal(50);

    const gc = node.call("GC", undefined, {
      ...config,
      "cni.dev/valid-attachments": [{ containerID: kept.containerId, ifname: "eth0" }],
    });
    expect(gc.status, gc.stdout).to.equal(0);
    expect(node.reservations()).to.deep.equal(["10.22.0.2"]);
    expect(status().status).to.equal(0);
  });

  it("an L2 network (ipam {}) answers both without any IPAM", () => {
    for (const command of ["STATUS", "GC"]) {
      const reply = invoke(command, config({ ipam: {}, "cni.dev/valid-attachments": [] }));
      expect(reply.status, `${command}: ${reply.stdout}`).to.equal(0);
    }
  });
});

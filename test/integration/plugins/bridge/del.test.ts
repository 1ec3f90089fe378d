// bridge DEL: idempotent, with or without the namespace, CNI_NETNS or prevResult, and after an ADD
// that was killed half-way. It always releases the IPAM reservation and leaves no veth behind.

import { expect } from "chai";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";

import { REFERENCE_PLUGINS, scratchDir, suiteDir, pluginPath } from "../../../helpers/suite";
import { useBridgeNode, type BridgeNode, type Pod } from "./fixture";

describe("bridge DEL (compiled binary)", () => {
  const fixture = useBridgeNode();

  const expectCleanedUp = (node: BridgeNode) => {
    expect(node.reservations(), "reservations").to.deep.equal([]);
    expect(
      node.hostVeths().map((l) => l.ifname),
      "host veths",
    ).to.deep.equal([]);
  };

  it("removes the pair and the reservation; a second DEL succeeds; the bridge stays", () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = node.config();
    const result = node.addOk(pod, config);
    const deleted = node.del(pod, config, result);
    expect(deleted.status, deleted.stdout).to.equal(0);
    expect(deleted.stdout).to.equal("");
    expectCleanedUp(node);
    expect(pod.ns.ipJson<{ ifname: string }[]>("link").map((l) => l.ifname)).to.deep.equal(["lo"]);
    expect(node.del(pod, config, result).status).to.equal(0);
    expect(node.link("cni0").flags).to.include("UP");
  });

  it("succeeds without prevResult", () => {
    const { node } = fixture;
    const pod = node.pod();
    node.addOk(pod, node.config());
    expect(node.del(pod, node.config()).status).to.equal(0);
    expectCleanedUp(node);
  });

  it("with CNI_NETNS empty (containerd's way) still releases the reservation", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config());
    const deleted = node.del(pod, node.config(), result, { CNI_NETNS: "" });
    expect(deleted.status, deleted.stdout).to.equal(0);
    expect(node.reservations()).to.deep.equal([]);
  });

  it("with CNI_NETNS empty and the pod still alive, removes the host end named in prevResult", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config());
    expect(node.del(pod, node.config(), result, { CNI_NETNS: "" }).status).to.equal(0);
    expectCleanedUp(node);
  });

  it("succeeds after the namespace is gone, and releases the reservation", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config());
    pod.ns.delete();
    const deleted = node.del(pod, node.config(), result);
    expect(deleted.status, deleted.stdout).to.equal(0);
    expectCleanedUp(node);
  });

  it("never deletes a pod interface that is not a veth (one the ADD did not make)", () => {
    const { node } = fixture;
    const pod = node.pod();
    pod.ns.ip("link", "add", "eth0", "type", "bridge");
    expect(node.del(pod, node.config()).status).to.equal(0);
    expect(pod.ns.ipJson<{ ifname: string }[]>("link").map((l) => l.ifname)).to.include("eth0");
  });

  describe("after an ADD killed half-way", () => {
    // An IPAM plugin that lets the test kill the bridge plugin while it waits: `slow-ipam` runs
    // host-local, then (with STALL=after) reports and hangs, or (STALL=before) hangs first.
    let pluginDir: string;
    after(() => rmSync(pluginDir, { recursive: true, force: true }));
    before(() => {
      pluginDir = scratchDir("slow-ipam");
      mkdirSync(pluginDir, { recursive: true });
      const script = join(pluginDir, "slow-ipam");
      writeFileSync(
        script,
        [
          "#!/bin/sh",
          "input=$(cat)",
          // exec: the process the test kills is the one that stalls, and nothing outlives it.
          'if [ "$STALL" = before ]; then echo $$ > "$MARKER"; exec sleep 30; fi',
          `result=$(printf '%s' "$input" | ${join(REFERENCE_PLUGINS, "host-local")})`,
          'if [ "$STALL" = after ]; then echo $$ > "$MARKER"; exec sleep 30; fi',
          'printf "%s" "$result"',
          "",
        ].join("\n"),
      );
      chmodSync(script, 0o755);
    });

    const killedAdd = async (node: BridgeNode, pod: Pod, stall: "before" | "after") => {
      const marker = join(pluginDir, `marker-${stall}`);
      writeFileSync(marker, "");
      const config = node.config({
        ipam: { type: "slow-ipam", subnet: "10.22.0.0/24", dataDir: node.dataDir },
        ipMasq: false,
      });
      const child = spawn("ip", ["netns", "exec", node.host.name, pluginPath("bridge")], {
        env: {
          PATH: process.env["PATH"] ?? "/usr/bin:/bin",
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: pod.containerId,
          CNI_NETNS: pod.ns.path,
          CNI_IFNAME: "eth0",
          CNI_PATH: `${pluginDir}:${suiteDir()}:${REFERENCE_PLUGINS}`,
          STALL: stall,
          MARKER: marker,
        },
        stdio: ["pipe", "ignore", "ignore"],
      });
      child.stdin.end(JSON.stringify(config));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      // Wait until the IPAM plugin stalls and the veth exists, then kill the plugin and the IPAM.
      for (let i = 0; i < 200 && (readFileSync(marker, "utf8").trim() === "" || node.hostVeths().length === 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(node.hostVeths(), "the veth was made before the kill").to.have.length(1);
      const ipamPid = Number(readFileSync(marker, "utf8").trim());
      expect(ipamPid, "the IPAM plugin started").to.be.greaterThan(0);
      child.kill("SIGKILL");
      process.kill(ipamPid, "SIGKILL");
      await exited;
      return { ...config, ipam: { type: "host-local", subnet: "10.22.0.0/24", dataDir: node.dataDir } };
    };

    it("killed while IPAM runs (veth made, nothing reserved): DEL cleans up", async () => {
      const { node } = fixture;
      const pod = node.pod();
      const config = await killedAdd(node, pod, "before");
      expect(node.reservations()).to.deep.equal([]);
      expect(node.del(pod, config).status).to.equal(0);
      expectCleanedUp(node);
    });

    it("killed after IPAM reserved (veth made, pod not configured): DEL cleans up", async () => {
      const { node } = fixture;
      const pod = node.pod();
      const config = await killedAdd(node, pod, "after");
      expect(node.reservations()).to.have.length(1);
      expect(node.del(pod, config).status).to.equal(0);
      expectCleanedUp(node);
    });
  });
});

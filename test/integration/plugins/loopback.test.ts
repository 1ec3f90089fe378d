// loopback through the compiled binary, run inside a "host" namespace, for every spec version.
// Assertions use `ip -j` inside the pod namespace as the oracle.

import { expect } from "chai";

import { SPEC_VERSIONS, versionAtLeast } from "../../../cni/version";
import { attachmentEnv, callPlugin } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { pluginPath } from "../../helpers/suite";

interface IpLink {
  readonly ifname: string;
  readonly flags: readonly string[];
}

const isUp = (pod: TestNetns): boolean => pod.ipJson<IpLink[]>("link", "show", "lo")[0]?.flags.includes("UP") ?? false;

describe("loopback plugin (compiled binary)", () => {
  let host: TestNetns;
  let pod: TestNetns;

  beforeEach(() => {
    host = TestNetns.create("host");
    pod = TestNetns.create("pod");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
  });

  const call = (command: string, cniVersion: string, extra: Record<string, unknown> = {}, env = {}) =>
    callPlugin({
      plugin: pluginPath("loopback"),
      command,
      host,
      config: { cniVersion, name: "lo-net", type: "loopback", ...extra },
      env: attachmentEnv("ctr-1", pod.path, env),
    });

  for (const version of SPEC_VERSIONS) {
    describe(`cniVersion ${version}`, () => {
      it("ADD brings lo up and reports it; DEL brings it down; a second DEL succeeds", () => {
        expect(isUp(pod)).to.equal(false);
        const added = call("ADD", version);
        expect(added.status, added.stdout + added.stderr).to.equal(0);
        expect(isUp(pod)).to.equal(true);
        expect(added.json?.["cniVersion"]).to.equal(version);
        if (versionAtLeast(version, "0.3.0")) {
          expect(added.json?.["interfaces"]).to.deep.equal([
            { name: "lo", mac: "00:00:00:00:00:00", sandbox: pod.path },
          ]);
          const ips = added.json?.["ips"] as { address: string; interface: number; version?: string }[];
          expect(ips.map((ip) => ip.address)).to.deep.equal(["127.0.0.1/8", "::1/128"]);
          expect(ips.every((ip) => ip.interface === 0)).to.equal(true);
          const hasVersionField = !versionAtLeast(version, "1.0.0");
          expect(ips.every((ip) => (ip.version !== undefined) === hasVersionField)).to.equal(true);
        } else {
          expect(added.json?.["ip4"]).to.deep.equal({ ip: "127.0.0.1/8" });
          expect(added.json?.["ip6"]).to.deep.equal({ ip: "::1/128" });
        }

        if (versionAtLeast(version, "0.4.0")) {
          const checked = call("CHECK", version);
          expect(checked.status, checked.stdout).to.equal(0);
          expect(checked.stdout).to.equal("");
        }

        const deleted = call("DEL", version);
        expect(deleted.status, deleted.stdout).to.equal(0);
        expect(deleted.stdout).to.equal("");
        expect(isUp(pod)).to.equal(false);
        expect(call("DEL", version).status).to.equal(0);
      });
    });
  }

  it("passes a chained prevResult through unchanged", () => {
    const prevResult = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:16:00:05", sandbox: pod.path }],
      ips: [{ interface: 0, address: "10.22.0.5/24", gateway: "10.22.0.1" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.22.0.1" }],
      dns: { nameservers: ["10.96.0.10"] },
    };
    const added = call("ADD", "1.0.0", { prevResult });
    expect(added.status, added.stdout).to.equal(0);
    expect(added.json).to.deep.equal(prevResult);
    expect(isUp(pod)).to.equal(true);
  });

  it("ignores CNI_ARGS, malformed or not, as the reference loopback does", () => {
    expect(call("ADD", "1.0.0", {}, { CNI_ARGS: "no-equals;K8S_POD_NAME=x" }).status).to.equal(0);
  });

  it("answers GC and STATUS (spec 1.1.0, by direct invocation: libcni 1.1.2 lacks them)", () => {
    for (const command of ["GC", "STATUS"]) {
      const reply = callPlugin({
        plugin: pluginPath("loopback"),
        command,
        host,
        config: { cniVersion: "1.1.0", name: "lo-net", type: "loopback", "cni.dev/valid-attachments": [] },
        env: { CNI_PATH: "/nonexistent" },
      });
      expect(reply.status, reply.stdout).to.equal(0);
      expect(reply.stdout).to.equal("");
    }
  });

  it("CHECK fails while lo is down", () => {
    const checked = call("CHECK", "1.0.0");
    expect(checked.status).to.equal(1);
    expect(checked.json?.["msg"]).to.equal("lo is down");
  });

  it("ADD fails when lo carries a non-loopback address", () => {
    pod.ip("addr", "add", "192.0.2.9/32", "dev", "lo");
    const added = call("ADD", "1.0.0");
    expect(added.status).to.equal(1);
    expect(added.json?.["details"]).to.contain("192.0.2.9/32");
  });

  it("DEL succeeds when the namespace is gone or CNI_NETNS is empty", () => {
    const gonePath = pod.path;
    pod.delete();
    expect(callPlugin({ ...baseDel(gonePath) }).status).to.equal(0);
    expect(callPlugin({ ...baseDel("") }).status).to.equal(0);

    function baseDel(netns: string) {
      return {
        plugin: pluginPath("loopback"),
        command: "DEL",
        host,
        config: { cniVersion: "1.0.0", name: "lo-net", type: "loopback" },
        env: attachmentEnv("ctr-1", netns),
      };
    }
  });

  it("never touches the host's lo: ADD into its own namespace is refused, DEL leaves it up", () => {
    host.ip("link", "set", "lo", "up");
    const ownNetns = "/proc/self/ns/net";
    const added = callPlugin({
      plugin: pluginPath("loopback"),
      command: "ADD",
      host,
      config: { cniVersion: "1.0.0", name: "lo-net", type: "loopback" },
      env: attachmentEnv("ctr-1", ownNetns),
    });
    expect(added.status).to.equal(1);
    expect(added.json?.["code"]).to.equal(4);
    const deleted = callPlugin({
      plugin: pluginPath("loopback"),
      command: "DEL",
      host,
      config: { cniVersion: "1.0.0", name: "lo-net", type: "loopback" },
      env: attachmentEnv("ctr-1", ownNetns),
    });
    expect(deleted.status).to.equal(0);
    expect(isUp(host)).to.equal(true);
  });
});

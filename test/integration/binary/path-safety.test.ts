// Identifiers that reach paths, end to end through the compiled binary: network names, container
// IDs and interface names holding path characters are refused before anything touches the data
// dirs (host-local's <dataDir>/<network>/, flannel's <dataDir>/<containerID>), and not one file
// appears, changes or disappears anywhere under the scratch tree (the data dirs lie two levels
// deep, so a traversal would land inside it). Also: a log file owned by someone else is never
// appended to, and a plugin handed its own namespace as CNI_NETNS leaves the host alone.

import { expect } from "chai";
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

import { attachmentEnv, callPlugin, type PluginReply } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { pluginPath, scratchDir, suiteDir } from "../../helpers/suite";

const BAD_NAMES = ["../../escape", "a/../../escape", "..", ".", "/abs", "net\nx", "a\0b"];
const BAD_IDS = ["../../escape", "ctr/../../../escape", "..", "/tmp/x", ".hidden", "ctr\n1"];
const BAD_IFNAMES = ["../../x", "eth0/..", "..", "a\tb"];

/** Every path under `root` with its type, size and content: what a traversal would change. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const key = relative(root, path);
      if (entry.isDirectory()) {
        out[key] = `dir ${(statSync(path).mode & 0o7777).toString(8)}`;
        walk(path);
      } else {
        out[key] = entry.isFile() ? `file ${readFileSync(path, "utf8")}` : "other";
      }
    }
  };
  walk(root);
  return out;
}

describe("identifiers that reach paths (compiled binary)", () => {
  let host: TestNetns;
  let pod: TestNetns;
  let root: string;

  beforeEach(() => {
    host = TestNetns.create("host", { loUp: true });
    pod = TestNetns.create("pod");
    root = scratchDir("path-safety");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
    rmSync(root, { recursive: true, force: true });
  });

  const call = (plugin: string, command: string, config: unknown, env: Record<string, string>): PluginReply =>
    callPlugin({
      plugin: pluginPath(plugin),
      command,
      host,
      config,
      env: { ...attachmentEnv("ctr-1", pod.path, { CNI_PATH: suiteDir() }), ...env },
    });

  const refused = (reply: PluginReply, code: number, what: string): void => {
    expect(reply.status, `${what}: ${reply.stdout}${reply.stderr}`).to.equal(1);
    expect(reply.json?.["code"], `${what}: ${reply.stdout}`).to.equal(code);
  };

  it("host-local: bad network names (7), container IDs (4) and ifnames (4) change nothing under the data dir's ancestors", () => {
    const dataDir = join(root, "a", "b", "networks");
    const ipam = (name: string) => ({
      cniVersion: "1.0.0",
      name,
      type: "host-local",
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.9.0.0/24" }]] },
    });
    // One good reservation first: the tree is not empty, and it must survive untouched.
    expect(call("host-local", "ADD", ipam("net1"), {}).status).to.equal(0);
    const before = tree(root);
    for (const command of ["ADD", "CHECK", "DEL"]) {
      for (const name of BAD_NAMES)
        refused(call("host-local", command, ipam(name), {}), 7, `${command} name ${JSON.stringify(name)}`);
      for (const id of BAD_IDS) {
        refused(
          call("host-local", command, ipam("net1"), { CNI_CONTAINERID: id }),
          4,
          `${command} id ${JSON.stringify(id)}`,
        );
      }
      for (const ifName of BAD_IFNAMES) {
        refused(
          call("host-local", command, ipam("net1"), { CNI_IFNAME: ifName }),
          4,
          `${command} ifname ${JSON.stringify(ifName)}`,
        );
      }
    }
    expect(tree(root)).to.deep.equal(before);
  });

  it("flannel: bad container IDs are refused (4) before its data dir is touched", () => {
    const subnetFile = join(root, "subnet.env");
    writeFileSync(
      subnetFile,
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
    );
    const config = {
      cniVersion: "1.0.0",
      name: "cbr0",
      type: "flannel",
      subnetFile,
      dataDir: join(root, "a", "b", "flannel"),
      delegate: { ipam: { dataDir: join(root, "a", "b", "networks") } },
    };
    const before = tree(root);
    for (const command of ["ADD", "CHECK", "DEL"]) {
      for (const id of BAD_IDS)
        refused(call("flannel", command, config, { CNI_CONTAINERID: id }), 4, `${command} ${JSON.stringify(id)}`);
    }
    expect(tree(root)).to.deep.equal(before);
  });

  it("never appends to a log file owned by another user: the records go to stderr", () => {
    const log = join(root, "shared", "tscni.log");
    mkdirSync(join(root, "shared"), { mode: 0o1777 });
    writeFileSync(log, "someone else's\n");
    chownSync(log, 65534, 65534);
    const config = {
      cniVersion: "1.0.0",
      name: "net1",
      type: "host-local",
      ipam: { type: "host-local", dataDir: join(root, "ipam"), ranges: [[{ subnet: "10.9.0.0/24" }]] },
    };
    // host-local logs what it reserved at debug.
    const reply = call("host-local", "ADD", config, { TSCNI_LOG_FILE: log, TSCNI_LOG_LEVEL: "debug" });
    expect(reply.status, reply.stdout + reply.stderr).to.equal(0);
    expect(readFileSync(log, "utf8")).to.equal("someone else's\n");
    expect(reply.stderr).to.contain("owned by uid 65534, not 0; not appending to it");
  });

  describe("CNI_NETNS naming the plugin's own namespace", () => {
    const bridge = { cniVersion: "1.0.0", name: "net1", type: "bridge", bridge: "cni0", isGateway: true };
    const own = () => ({ CNI_NETNS: host.path });
    const ipam = () => ({
      ...bridge,
      ipam: { type: "host-local", dataDir: join(root, "ipam"), subnet: "10.9.0.0/24" },
    });

    beforeEach(() => host.ip("link", "add", "eth0", "type", "bridge"));
    const links = () =>
      host
        .ipJson<{ ifname: string }[]>("link", "show")
        .map((l) => l.ifname)
        .sort();

    it("ADD and CHECK are refused (4) and create nothing", () => {
      const before = links();
      refused(call("bridge", "ADD", ipam(), own()), 4, "ADD");
      refused(call("bridge", "CHECK", ipam(), own()), 4, "CHECK");
      expect(links()).to.deep.equal(before);
      expect(readdirSync(root)).to.deep.equal([]);
    });

    it("DEL succeeds and leaves the host's eth0 alone", () => {
      const reply = call("bridge", "DEL", ipam(), own());
      expect(reply.status, reply.stdout + reply.stderr).to.equal(0);
      expect(links()).to.deep.equal(["eth0", "lo"]);
    });
  });
});

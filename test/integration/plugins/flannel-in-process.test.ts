// The flannel chain in one process: when the delegate found in CNI_PATH is this suite's binary, it
// runs in the same process. Proof by construction: CNI_PATH holds only a directory of links to the
// suite's binary (a hard link, so the same file) mounted noexec in a private mount namespace, so a
// delegate that were exec'd would fail with EACCES. The control case shows that the mount does stop
// an exec.

import { expect } from "chai";
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { TestNetns } from "../../helpers/netns";
import { run } from "../../helpers/run";
import { pluginPath, REFERENCE_PLUGINS, scratchDir } from "../../helpers/suite";

const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

// Mounts the directory of links noexec over itself, then runs the command.
const CONFINE = 'mount --bind "$1" "$1" && mount -o remount,bind,noexec "$1" && shift && exec "$@"';

describe("flannel plugin: delegates run in-process", () => {
  let host: TestNetns;
  let pod: TestNetns;
  let dir: string;
  let bin: string;

  beforeEach(() => {
    host = TestNetns.create("host", { loUp: true });
    pod = TestNetns.create("pod");
    dir = scratchDir("flannel-in-process");
    bin = join(dir, "bin");
    mkdirSync(bin);
    linkSync(pluginPath("tscni"), join(bin, "tscni"));
    for (const plugin of ["loopback", "bridge", "host-local"]) symlinkSync("tscni", join(bin, plugin));
    writeFileSync(join(dir, "subnet.env"), SUBNET_ENV);
  });
  afterEach(() => {
    pod.delete();
    host.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A flannel verb, exec'd from the installed suite, with only the noexec directory in CNI_PATH. */
  function callConfined(command: "ADD" | "DEL", delegate: Record<string, unknown>) {
    const config = {
      cniVersion: "1.0.0",
      name: "cbr0",
      type: "flannel",
      subnetFile: join(dir, "subnet.env"),
      dataDir: join(dir, "flannel"),
      ipam: { dataDir: join(dir, "networks") },
      delegate,
    };
    const env = [
      `CNI_COMMAND=${command}`,
      "CNI_CONTAINERID=ctr-1",
      `CNI_NETNS=${pod.path}`,
      "CNI_IFNAME=eth0",
      `CNI_PATH=${bin}`,
    ];
    const reply = run(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", CONFINE, "sh", bin].concat([
        "ip",
        "netns",
        "exec",
        host.name,
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        ...env,
        pluginPath("flannel"),
      ]),
      { input: JSON.stringify(config) },
    );
    return { ...reply, json: (reply.stdout === "" ? {} : JSON.parse(reply.stdout)) as Record<string, unknown> };
  }

  it("control: a delegate that is not this binary cannot run from the noexec directory", () => {
    copyFileSync(join(REFERENCE_PLUGINS, "loopback"), join(bin, "reference-loopback"));
    const added = callConfined("ADD", { type: "reference-loopback" });
    expect(added.status).to.equal(1);
    expect(added.json["msg"]).to.match(/^failed to delegate add: EACCES: permission denied/);
  });

  it("flannel -> loopback: the delegate, this binary, runs without an exec", () => {
    const added = callConfined("ADD", { type: "loopback" });
    expect(added.status, added.stdout + added.stderr).to.equal(0);
    expect(added.json["interfaces"]).to.deep.equal([{ name: "lo", mac: "00:00:00:00:00:00", sandbox: pod.path }]);
    expect(pod.ipJson<{ flags: string[] }[]>("link", "show", "lo")[0]?.flags).to.include("UP");
  });

  it("flannel -> bridge -> host-local: ADD and DEL of the whole chain in one process", () => {
    const added = callConfined("ADD", { isDefaultGateway: true });
    expect(added.status, added.stdout + added.stderr).to.equal(0);
    const ips = added.json["ips"] as { address: string; gateway: string }[];
    expect(ips.map((ip) => [ip.address, ip.gateway])).to.deep.equal([["10.244.1.2/24", "10.244.1.1"]]);
    const podAddresses = pod.ipJson<{ addr_info: { family: string; local: string }[] }[]>("addr", "show", "eth0");
    expect(podAddresses[0]?.addr_info.filter((a) => a.family === "inet").map((a) => a.local)).to.deep.equal([
      "10.244.1.2",
    ]);
    expect(existsSync(join(dir, "networks", "cbr0", "10.244.1.2"))).to.equal(true);

    const deleted = callConfined("DEL", { isDefaultGateway: true });
    expect(deleted.status, deleted.stdout + deleted.stderr).to.equal(0);
    expect(existsSync(join(dir, "networks", "cbr0", "10.244.1.2"))).to.equal(false);
    expect(existsSync(join(dir, "flannel", "ctr-1"))).to.equal(false);
    expect(pod.ipJson<{ ifname: string }[]>("link", "show").map((l) => l.ifname)).to.deep.equal(["lo"]);
  });
});

// The kube-flannel chain (flannel, then the reference portmap) driven through the real libcni, with
// the node's subnet.env written in upstream flanneld's exact format: the file is the contract
// between the node daemon and the plugin. Every node and pod is a namespace the test made.

import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";

import { DriverWorkspace } from "../helpers/driver";
import { TestNetns } from "../helpers/netns";
import { REFERENCE_PLUGINS, suiteDir } from "../helpers/suite";

interface IpAddress {
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}
interface IpRoute {
  readonly dst: string;
  readonly gateway?: string;
}

/** flanneld's WriteSubnetFile output for a dual-stack node: fixed key order, IPv6 lines in the middle. */
const SUBNET_ENV = [
  "FLANNEL_NETWORK=10.244.0.0/16",
  "FLANNEL_SUBNET=10.244.1.1/24",
  "FLANNEL_IPV6_NETWORK=fd00:10:244::/56",
  "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64",
  "FLANNEL_MTU=1450",
  "FLANNEL_IPMASQ=true",
  "",
].join("\n");

describe("flannel through libcni (kube-flannel's conflist)", () => {
  let workspace: DriverWorkspace;
  let host: TestNetns;
  let pod: TestNetns;
  let subnetFile: string;
  let dataDir: string;
  let ipamDir: string;
  let server: ChildProcess | undefined;

  beforeEach(() => {
    workspace = new DriverWorkspace();
    host = TestNetns.create("node", { loUp: true });
    pod = TestNetns.create("pod", { loUp: true });
    subnetFile = join(workspace.root, "subnet.env");
    dataDir = join(workspace.root, "flannel");
    ipamDir = join(workspace.root, "networks");
    writeFileSync(subnetFile, SUBNET_ENV);
  });
  afterEach(async () => {
    if (server !== undefined && server.exitCode === null) {
      server.kill();
      await once(server, "exit");
    }
    server = undefined;
    pod.delete();
    host.delete();
    workspace.remove();
  });

  /** kube-flannel's cni-conf.json, with the node's files moved into the test's workspace. */
  const writeConflist = (cniVersion: string) =>
    workspace.writeConfig("10-flannel.conflist", {
      name: "cbr0",
      cniVersion,
      plugins: [
        {
          type: "flannel",
          delegate: { hairpinMode: true, isDefaultGateway: true },
          subnetFile,
          dataDir,
          ipam: { dataDir: ipamDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });

  const PORT_MAPPINGS = JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] });
  const driverWith = (verb: "add" | "check" | "del", capabilityArgs: string) =>
    workspace.run(host, verb, "cbr0", pod.path, {
      CNI_PATH: `${suiteDir()}:${REFERENCE_PLUGINS}`,
      CAP_ARGS: capabilityArgs,
    });
  const driver = (verb: "add" | "check" | "del") => driverWith(verb, PORT_MAPPINGS);

  const savedConfigs = () => (existsSync(dataDir) ? readdirSync(dataDir) : []);
  const reservations = () =>
    existsSync(join(ipamDir, "cbr0"))
      ? readdirSync(join(ipamDir, "cbr0")).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"))
      : [];
  const natRules = () => host.exec("iptables-save", ["-t", "nat"]).stdout;

  /** A one-shot TCP server in the pod on port 80 that answers "pong". */
  async function serveInPod(): Promise<void> {
    const script =
      "require('net').createServer((s) => { s.end('pong'); process.exit(0); }).listen(80, () => console.log('ready'))";
    server = spawn("ip", ["netns", "exec", pod.name, process.execPath, "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [chunk] = (await once(server.stdout!, "data")) as [Buffer];
    expect(chunk.toString()).to.contain("ready");
  }

  it("ADD and DEL with the 0.3.1 conflist: pod addresses from FLANNEL_SUBNET, a working hostPort, nothing left after DEL", async () => {
    writeConflist("0.3.1");
    const added = driver("add");
    expect(added.status, added.stderr).to.equal(0);
    const result = JSON.parse(added.stdout) as { cniVersion: string; ips: { address: string; gateway: string }[] };
    expect(result.cniVersion).to.equal("0.3.1");
    expect(result.ips.map((ip) => [ip.address, ip.gateway])).to.deep.equal([
      ["10.244.1.2/24", "10.244.1.1"],
      ["fd00:10:244:1::2/64", "fd00:10:244:1::1"],
    ]);

    const podAddresses = pod.ipJson<IpAddress[]>("addr", "show", "dev", "eth0")[0]?.addr_info ?? [];
    expect(
      podAddresses.filter((a) => !a.local.startsWith("fe80:")).map((a) => `${a.local}/${a.prefixlen}`),
    ).to.deep.equal(["10.244.1.2/24", "fd00:10:244:1::2/64"]);
    expect(pod.ipJson<IpRoute[]>("route", "show", "default").map((r) => r.gateway)).to.deep.equal(["10.244.1.1"]);
    expect(savedConfigs()).to.have.length(1);
    expect(JSON.parse(readFileSync(join(dataDir, savedConfigs()[0] ?? ""), "utf8"))).to.deep.include({
      cniVersion: "0.3.1",
      name: "cbr0",
      type: "bridge",
      hairpinMode: true,
      isDefaultGateway: true,
      ipMasq: false,
      mtu: 1450,
    });

    // portmap received flannel's result as prevResult: its DNAT points at the pod's address.
    expect(natRules()).to.match(/-j DNAT --to-destination 10\.244\.1\.2:80/);
    await serveInPod();
    const reply = host.exec("bash", ["-c", "exec 3<>/dev/tcp/10.244.1.1/8080 && cat <&3"], { timeout: 10_000 });
    expect(reply.stdout, reply.stderr).to.equal("pong");

    const deleted = driver("del");
    expect(deleted.status, deleted.stderr).to.equal(0);
    expect(savedConfigs()).to.deep.equal([]);
    expect(reservations()).to.deep.equal([]);
    expect(natRules()).to.not.match(/10\.244\.1\.2:80/);
    expect(readdirSync(join(workspace.cacheDir, "results"))).to.deep.equal([]);
    expect(driver("del").status).to.equal(0);
  });

  it("ADD, CHECK and DEL with a 1.0.0 conflist: CHECK replays the saved config with the cached result", () => {
    writeConflist("1.0.0");
    // No hostPort here: the reference portmap (1.1.1) fails CHECK on any dual-stack pod with a port
    // mapping (it looks for the IPv4 DNAT rule in the IPv6 table). The hostPort is covered above.
    const driver = (verb: "add" | "check" | "del") => driverWith(verb, "{}");
    expect(driver("add").status).to.equal(0);
    const checked = driver("check");
    expect(checked.status, checked.stderr).to.equal(0);

    // The pod's address taken away behind the runtime's back: the delegate's CHECK notices.
    pod.ip("addr", "del", "10.244.1.2/24", "dev", "eth0");
    const broken = driver("check");
    expect(broken.status).to.equal(1);
    expect(broken.stderr).to.contain("10.244.1.2");

    expect(driver("del").status).to.equal(0);
    expect(savedConfigs()).to.deep.equal([]);
  });

  it("fails ADD with upstream's message while the node has no subnet.env, and leaves nothing behind", () => {
    writeConflist("0.3.1");
    rmSync(subnetFile);
    const added = driver("add");
    expect(added.status).to.equal(1);
    expect(added.stderr).to.contain(
      `plugin type="flannel" failed (add): failed to load flannel 'subnet.env' file: open ${subnetFile}: no such file or directory`,
    );
    expect(savedConfigs()).to.deep.equal([]);
    expect(pod.ipJson<{ ifname: string }[]>("link", "show").map((l) => l.ifname)).to.deep.equal(["lo"]);
  });
});

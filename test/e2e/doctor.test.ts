// `tscni doctor` on a node made of namespaces: two nodes running the agent (file lease store), pods
// on node1 added through the real libcni (kube-flannel's conflist, so libcni's result cache
// records their namespaces). A healthy node reports every check ok and exits 0; each known
// failure is then built for real (with ip, sysctl, iptables, nft inside node1) and the doctor
// must report it with its fix, then the test puts the node back.

import { expect } from "chai";
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Cluster, type ClusterNode, eventually } from "../helpers/cluster";
import { DriverWorkspace } from "../helpers/driver";
import { TestNetns } from "../helpers/netns";
import { runOk } from "../helpers/run";
import { BUILT_BINARY, REFERENCE_PLUGINS, scratchDir, suiteDir } from "../helpers/suite";
import type { CheckId, CheckResult, DoctorReport } from "../../tools/doctor/report";

const CHECK_IDS: readonly CheckId[] = [
  "cni-config",
  "cni-plugins",
  "subnet-env",
  "vxlan-device",
  "peers",
  "bridge-address",
  "mtu",
  "br-netfilter",
  "forward-policy",
  "ipam-leaks",
];

interface IpLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly master?: string;
}

describe("tscni doctor on a node", function () {
  let cluster: Cluster;
  let node: ClusterNode;
  let peer: ClusterNode;
  let workspace: DriverWorkspace;
  let netConf: string;
  let storeDir: string;
  let ipamDir: string;
  const pods: TestNetns[] = [];
  let subnet = "";
  let peerSubnet = "";

  const gateway = () => subnet.replace(/\.0\/24$/, ".1/24");
  const driver = (verb: "add" | "del", pod: TestNetns) =>
    workspace.run(node.ns, verb, "cbr0", pod.path, { CNI_PATH: `${suiteDir()}:${REFERENCE_PLUGINS}` });
  const inNode = (command: string, ...args: string[]) => {
    const result = node.ns.exec(command, args);
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
  };
  const subnetOf = (n: ClusterNode): string =>
    (/^FLANNEL_SUBNET=(\S+)\.1\/24$/m.exec(readFileSync(n.subnetFile, "utf8")) ?? [])[1]?.concat(".0/24") ?? "";

  function doctor(
    extra: readonly string[] = [],
    options: { binDirs?: readonly string[]; json?: boolean; store?: string } = {},
  ) {
    const binDirs = options.binDirs ?? [suiteDir(), REFERENCE_PLUGINS];
    const args = [
      "doctor",
      ...["--subnet-file", node.subnetFile, "--cni-conf-dir", workspace.confDir, "--cni-cache-dir", workspace.cacheDir],
      ...["--store", `file:${options.store ?? storeDir}`, "--net-config-path", netConf],
      ...binDirs.flatMap((dir) => ["--cni-bin-dir", dir]),
      ...(options.json === false ? [] : ["--json"]),
      ...extra,
    ];
    const result = node.ns.exec(BUILT_BINARY, args, { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    if (options.json === false) return { status: result.status, text: result.stdout, report: undefined };
    expect(result.stderr).to.equal("");
    return { status: result.status, text: result.stdout, report: JSON.parse(result.stdout) as DoctorReport };
  }
  const check = (report: DoctorReport | undefined, id: CheckId): CheckResult => {
    const found = report?.checks.find((c) => c.id === id);
    if (found === undefined) throw new Error(`no check ${id}`);
    return found;
  };
  /** The doctor fails exactly this check, with a fix. */
  const expectOnlyFailure = (id: CheckId) => {
    const { status, report } = doctor();
    const failed = report?.checks.filter((c) => c.status === "fail").map((c) => c.id);
    expect(failed, JSON.stringify(report?.checks, null, 2)).to.deep.equal([id]);
    expect(status).to.equal(1);
    expect(report?.ok).to.equal(false);
    const found = check(report, id);
    expect(found.fix).to.be.a("string").and.not.equal("");
    return found;
  };

  before(async function () {
    this.timeout(120_000);
    cluster = new Cluster();
    [node, peer] = [cluster.addNode(), cluster.addNode()];
    netConf = join(cluster.dir, "net-conf.json");
    writeFileSync(netConf, JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: "vxlan" } }));
    storeDir = join(cluster.dir, "leases");
    const agents = [node, peer].map((n) =>
      n.startAgent(BUILT_BINARY, [
        ...["--net-config-path", netConf, "--store", `file:${storeDir}`, "--subnet-file", n.subnetFile],
        ...["--metrics-address", "", "--ip-masq"],
      ]),
    );
    const programmed = (n: ClusterNode, other: ClusterNode) => {
      try {
        const route = n.ns.ipJson<{ dst: string }[]>("route", "show", "dev", "flannel.1");
        return (
          route.some((r) => r.dst === subnetOf(other)) && n.ns.exec("iptables-save", []).stdout.includes("FLANNEL-FWD")
        );
      } catch {
        return false;
      }
    };
    const ready = await eventually(() => programmed(node, peer) && programmed(peer, node), 20_000);
    expect(ready, agents.map((a) => a.logs).join("\n")).to.equal(true);
    // Stopped, the agents leave their datapath and leases: the node's state holds still for the tests.
    for (const agent of agents) expect(await agent.stop()).to.equal(0);
    [subnet, peerSubnet] = [subnetOf(node), subnetOf(peer)];

    workspace = new DriverWorkspace();
    ipamDir = join(workspace.root, "networks");
    workspace.writeConfig("10-flannel.conflist", {
      name: "cbr0",
      cniVersion: "0.3.1",
      plugins: [
        {
          type: "flannel",
          delegate: { hairpinMode: true, isDefaultGateway: true },
          subnetFile: node.subnetFile,
          dataDir: join(workspace.root, "flannel"),
          ipam: { dataDir: ipamDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const pod = TestNetns.create("pod", { loUp: true });
      pods.push(pod);
      const added = driver("add", pod);
      expect(added.status, added.stderr).to.equal(0);
    }
  });

  after(() => {
    for (const pod of pods) pod.delete();
    workspace?.remove();
    cluster?.destroy();
  });

  it("reports a healthy node: every check ok, exit 0, and changes nothing", () => {
    const before = snapshot();
    const { status, report } = doctor();
    const after = snapshot();
    for (const key of Object.keys(before) as (keyof typeof before)[]) {
      expect(JSON.stringify(after[key], null, 1), key).to.equal(JSON.stringify(before[key], null, 1));
    }
    expect(report?.checks.map((c) => [c.id, c.status])).to.deep.equal(CHECK_IDS.map((id) => [id, "ok"]));
    expect(status).to.equal(0);
    expect(report?.ok).to.equal(true);

    expect(report?.subnetEnv).to.deep.include({ state: "ok", subnet, networks: ["10.244.0.0/16"], mtu: 1450 });
    const [cni0] = report?.bridges ?? [];
    expect(cni0).to.deep.include({ name: "cni0", present: true, up: true, mtu: 1450, addresses: [gateway()] });
    expect(cni0?.ports.map((p) => [p.kind, p.mtu])).to.deep.equal([
      ["veth", 1450],
      ["veth", 1450],
    ]);
    expect(report?.vxlanDevices).to.deep.equal([
      {
        name: "flannel.1",
        vni: 1,
        mtu: 1450,
        up: true,
        local: node.underlayIp,
        underlay: "eth0",
        addresses: [`${subnet.replace(/\/24$/, "")}/32`],
      },
    ]);
    expect(report?.peers.devices).to.deep.equal([
      {
        device: "flannel.1",
        peers: [
          {
            lease: peerSubnet.replace("/", "-"),
            subnet: peerSubnet,
            publicIp: peer.underlayIp,
            vtepMac: peer.ns.ipJson<{ address: string }[]>("link", "show", "flannel.1")[0]?.address,
            direct: false,
            route: true,
            neighbour: true,
            fdb: true,
          },
        ],
        ignored: [],
        stale: { routes: [], neighbours: [], fdb: [] },
      },
    ]);
    const [ipam] = report?.ipam ?? [];
    expect(ipam?.network).to.equal("cbr0");
    const range = `${subnet.replace(".0/24", ".1")}-${subnet.replace(".0/24", ".254")}`;
    expect(ipam?.rangeSets).to.deep.equal([{ ranges: range, capacity: "253", reserved: 2 }]);
    expect(ipam?.reservations.map((r) => [r.attachment, r.netns])).to.have.deep.members(
      pods.map((p) => ["live", p.path]),
    );
    expect(report?.forwarding).to.deep.equal([{ source: "iptables", policy: "ACCEPT", acceptsClusterNetwork: true }]);
    expect(report?.brNetfilter.iptables).to.equal("1");
  });

  it("prints tables and the checks for people", () => {
    const { status, text } = doctor([], { json: false });
    expect(status).to.equal(0);
    for (const heading of ["SUBNET.ENV", "NETWORKS", "DEVICES", "PEERS", "IPAM (host-local)", "FIREWALL", "CHECKS"]) {
      expect(text).to.contain(`\n${heading}`.trimStart());
    }
    expect(text).to.match(/flannel\.1\s+vxlan\s+up\s+1450/);
    expect(text).to.match(/ok\s+mtu\s+/);
    expect(text.trimEnd().split("\n").at(-1)).to.equal("healthy (0 warning(s))");
  });

  it("missing subnet.env", () => {
    const moved = `${node.subnetFile}.away`;
    renameSync(node.subnetFile, moved);
    try {
      const found = expectOnlyFailure("subnet-env");
      expect(found.summary).to.contain("does not exist");
      expect(found.fix).to.contain("start it");
    } finally {
      renameSync(moved, node.subnetFile);
    }
  });

  it("bridge address of another subnet", () => {
    inNode("ip", "addr", "del", gateway(), "dev", "cni0");
    inNode("ip", "addr", "add", "10.244.250.1/24", "dev", "cni0");
    try {
      const found = expectOnlyFailure("bridge-address");
      expect(found.details).to.deep.equal([`cni0 has 10.244.250.1/24; network cbr0 puts ${gateway()} there`]);
      expect(found.fix).to.contain("`ip addr del 10.244.250.1/24 dev cni0`").and.to.contain("forceAddress");
    } finally {
      inNode("ip", "addr", "del", "10.244.250.1/24", "dev", "cni0");
      inNode("ip", "addr", "add", gateway(), "dev", "cni0");
    }
  });

  it("MTU mismatch between the VXLAN device, the bridge and a pod's veth", () => {
    const veth = node.ns.ipJson<IpLink[]>("link", "show", "master", "cni0")[0]?.ifname ?? "";
    inNode("ip", "link", "set", veth, "mtu", "1400");
    try {
      const found = expectOnlyFailure("mtu");
      expect(found.details).to.include(`${veth} (port of cni0) MTU 1400, network cbr0 wants 1450`);
      expect(found.details).to.include("cni0 MTU 1400, network cbr0 wants 1450");
      expect(found.fix).to.contain("recreate the pods");
      inNode("ip", "link", "set", "flannel.1", "mtu", "1400");
      const device = expectOnlyFailure("mtu");
      expect(device.details).to.include("VXLAN device MTU 1400, subnet.env FLANNEL_MTU=1450");
      expect(device.fix).to.contain("restart the agent");
    } finally {
      inNode("ip", "link", "set", "flannel.1", "mtu", "1450");
      inNode("ip", "link", "set", veth, "mtu", "1450");
    }
  });

  it("br_netfilter off", () => {
    inNode("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0");
    try {
      const found = expectOnlyFailure("br-netfilter");
      expect(found.details).to.deep.equal(["net.bridge.bridge-nf-call-iptables = 0"]);
      expect(found.fix).to.contain("modprobe br_netfilter").and.to.contain("net.bridge.bridge-nf-call-iptables=1");
    } finally {
      inNode("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1");
    }
  });

  it("FORWARD policy DROP: fine with our accept rules, a failure without them", () => {
    inNode("iptables", "-P", "FORWARD", "DROP");
    const jump = ["FORWARD", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD"];
    try {
      const withRules = doctor();
      expect(check(withRules.report, "forward-policy").status).to.equal("ok");
      expect(withRules.report?.forwarding[0]).to.deep.equal({
        source: "iptables",
        policy: "DROP",
        acceptsClusterNetwork: true,
      });
      inNode("iptables", "-D", ...jump);
      const found = expectOnlyFailure("forward-policy");
      expect(found.details).to.deep.equal(["iptables: policy DROP, no rule accepts the cluster network"]);
      expect(found.fix).to.contain("FLANNEL-FWD");
    } finally {
      if (!node.ns.exec("iptables-save", ["-t", "filter"]).stdout.includes("-j FLANNEL-FWD"))
        inNode("iptables", "-A", ...jump);
      inNode("iptables", "-P", "FORWARD", "ACCEPT");
    }
  });

  it("an nftables forward chain with policy drop in another table, until it accepts the cluster network", () => {
    inNode("nft", "add table inet tscni_test_fw");
    try {
      inNode("nft", "add chain inet tscni_test_fw forward { type filter hook forward priority 0 ; policy drop ; }");
      const found = expectOnlyFailure("forward-policy");
      expect(found.details).to.deep.equal([
        "nft inet tscni_test_fw forward: policy drop, no rule accepts the cluster network",
      ]);
      expect(found.fix).to.contain("ip saddr <cluster network> accept");
      inNode("nft", "add rule inet tscni_test_fw forward ip saddr 10.244.0.0/16 counter accept");
      expect(check(doctor().report, "forward-policy").status, "one direction is not enough").to.equal("fail");
      inNode("nft", "add rule inet tscni_test_fw forward ip daddr 10.244.0.0/16 accept");
      expect(check(doctor().report, "forward-policy").status).to.equal("ok");
    } finally {
      inNode("nft", "delete table inet tscni_test_fw");
    }
  });

  it("plugins a conflist runs that the CNI bin dirs lack", () => {
    const bin = scratchDir("doctor-bin");
    try {
      runOk(BUILT_BINARY, ["install", "--dest", bin, "--log-level", "error"]);
      rmSync(join(bin, "bridge"));
      const { status, report } = doctor([], { binDirs: [bin] });
      expect(status).to.equal(1);
      const found = check(report, "cni-plugins");
      expect(found.status).to.equal("fail");
      expect(found.details).to.have.members([
        `cbr0 (${workspace.confDir}/10-flannel.conflist) runs bridge: not in ${bin}`,
        `cbr0 (${workspace.confDir}/10-flannel.conflist) runs portmap: not in ${bin}`,
      ]);
      expect(found.fix).to.contain(`bridge: \`tscni install --dest ${bin}\``);
      expect(found.fix).to.contain("portmap: install the reference plugins");
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("peers: a route missing, a neighbour no lease accounts for", () => {
    inNode("ip", "route", "del", peerSubnet, "dev", "flannel.1");
    inNode(
      "ip",
      "neigh",
      "replace",
      "10.244.200.0",
      "lladdr",
      "02:00:00:00:00:c8",
      "dev",
      "flannel.1",
      "nud",
      "permanent",
    );
    try {
      const found = expectOnlyFailure("peers");
      expect(found.details).to.deep.equal([
        `flannel.1: lease ${peerSubnet.replace("/", "-")} (${peerSubnet} at ${peer.underlayIp}): no route`,
        "flannel.1: stale neighbour 10.244.200.0 lladdr 02:00:00:00:00:c8 (no lease)",
      ]);
      expect(found.fix).to.contain("--reconcile-interval");
    } finally {
      inNode("ip", "neigh", "del", "10.244.200.0", "dev", "flannel.1");
      inNode("ip", "route", "add", peerSubnet, "via", peerSubnet.replace("/24", ""), "dev", "flannel.1", "onlink");
    }
  });

  it("reservations whose namespace is gone, or never recorded, are warnings: exit 0", () => {
    const pod = TestNetns.create("pod", { loUp: true });
    const added = driver("add", pod);
    expect(added.status, added.stderr).to.equal(0);
    const address = (JSON.parse(added.stdout) as { ips: { address: string }[] }).ips[0]?.address.split("/")[0] ?? "";
    const stray = join(ipamDir, "cbr0", subnet.replace(".0/24", ".200"));
    // The pod's namespace disappears without a DEL (a crashed runtime); another address was never recorded.
    pod.delete();
    writeFileSync(stray, "stray-container\r\neth0");
    try {
      const { status, report } = doctor();
      expect(status).to.equal(0);
      const found = check(report, "ipam-leaks");
      expect(found.status).to.equal("warn");
      expect(found.summary).to.equal("1 leaked and 1 unrecorded reservation(s)");
      expect(found.details[0]).to.match(
        new RegExp(
          `^cbr0 ${address.replaceAll(".", "\\.")}: container cnitool-\\w+ eth0, namespace ${pod.path} is gone$`,
        ),
      );
      expect(found.details[1]).to.equal(
        `cbr0 ${subnet.replace(".0/24", ".200")}: container stray-container, no runtime record of its namespace`,
      );
      expect(found.fix).to.contain("GC");
    } finally {
      rmSync(stray, { force: true });
      const del = workspace.run(node.ns, "del", "cbr0", pod.path, { CNI_PATH: `${suiteDir()}:${REFERENCE_PLUGINS}` });
      expect(del.status, del.stderr).to.equal(0);
    }
  });

  it("cannot read the lease store: a warning, and the peers are not compared", () => {
    const { status, report } = doctor([], { store: join(cluster.dir, "no-store") });
    expect(status).to.equal(0);
    expect(check(report, "peers")).to.deep.include({
      status: "warn",
      details: [`no lease store in ${join(cluster.dir, "no-store")}`],
    });
  });

  it("the JSON has the documented schema", () => {
    const { report } = doctor();
    expect(report).to.have.all.keys([
      "schemaVersion",
      "ok",
      "subnetEnv",
      "networks",
      "bridges",
      "vxlanDevices",
      "peers",
      "ipam",
      "forwarding",
      "brNetfilter",
      "checks",
    ]);
    expect(report?.schemaVersion).to.equal(1);
    for (const c of report?.checks ?? []) {
      expect(c).to.include.all.keys(["id", "status", "summary", "details"]);
      expect(["ok", "warn", "fail", "skip"]).to.include(c.status);
    }
    expect(report?.networks[0]).to.have.all.keys(["file", "name", "default", "plugins", "bridge", "problem"]);
    expect(report?.ipam[0]?.reservations[0]).to.have.all.keys([
      "address",
      "containerId",
      "ifName",
      "attachment",
      "netns",
    ]);
  });

  it("rejects an unknown flag with exit status 2", () => {
    const result = node.ns.exec(BUILT_BINARY, ["doctor", "--bogus"]);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.contain("bogus");
  });

  /** What a read-only doctor must leave as it was: the node's kernel state and the files. */
  function snapshot() {
    const files = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, encoding: "utf8" })
        .sort()
        .map((name) => `${name} ${statSync(join(dir, name)).mtimeMs}`);
    return {
      // Without the bridges' timers, which tick by themselves.
      links: JSON.stringify(node.ns.ipJson("-d", "link", "show"), (key, value: unknown) =>
        key.endsWith("_timer") ? undefined : value,
      ),
      addresses: node.ns.ipJson("addr", "show"),
      routes: node.ns.ipJson("route", "show", "table", "all"),
      neighbours: node.ns.ipJson("neigh", "show"),
      fdb: node.ns.bridgeJson("fdb", "show"),
      iptables: node.ns
        .exec("iptables-save", [])
        .stdout.replace(/^#.*\n/gm, "")
        .replace(/\[\d+:\d+\]/g, ""),
      nft: node.ns.exec("nft", ["list", "ruleset"]).stdout.replace(/counter packets \d+ bytes \d+/g, "counter"),
      cluster: files(cluster.dir),
      workspace: files(workspace.root),
    };
  }
});

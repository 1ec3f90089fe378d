// The flannel plugin (compiled binary) run inside a test "host" namespace against a subnet.env in
// upstream flanneld's format, delegating to this suite's bridge and host-local (and, in one test,
// to the reference ones: kube-flannel installs only the flannel binary). Assertions use `ip -j` in
// the test namespaces and the files on disk as the oracle.

import { expect } from "chai";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

import { attachmentEnv, callPlugin, type PluginReply } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { pluginPath, REFERENCE_PLUGINS, REPO_ROOT, scratchDir, suiteDir } from "../../helpers/suite";

interface IpAddress {
  readonly ifname: string;
  readonly mtu: number;
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}
interface IpRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
}

// What flanneld writes for a node holding 10.244.1.0/24 in 10.244.0.0/16 with --ip-masq.
const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const DUAL_STACK_SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n" +
  "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" +
  "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const RECORDING_DELEGATE = join(REPO_ROOT, "test/fixtures/flannel/recording-delegate.sh");

const addresses = (ns: TestNetns, dev: string, family: "inet" | "inet6" = "inet") =>
  (ns.ipJson<IpAddress[]>("addr", "show", "dev", dev)[0]?.addr_info ?? [])
    .filter((a) => a.family === family && !a.local.startsWith("fe80:"))
    .map((a) => `${a.local}/${a.prefixlen}`);

describe("flannel plugin (compiled binary)", () => {
  let host: TestNetns;
  let pod: TestNetns;
  let dir: string;
  let subnetFile: string;
  let dataDir: string;
  let ipamDir: string;

  beforeEach(() => {
    host = TestNetns.create("host", { loUp: true });
    pod = TestNetns.create("pod");
    dir = scratchDir("flannel");
    subnetFile = join(dir, "subnet.env");
    dataDir = join(dir, "flannel");
    ipamDir = join(dir, "networks");
    writeFileSync(subnetFile, SUBNET_ENV);
  });
  afterEach(() => {
    pod.delete();
    host.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  const cniPath = () => suiteDir();
  const saved = (containerId = "ctr-1") => join(dataDir, containerId);

  /** kube-flannel's entry, with the node's files moved into the test's directory. */
  const config = (extra: Record<string, unknown> = {}) => ({
    cniVersion: "1.0.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
    delegate: { hairpinMode: true, isDefaultGateway: true },
    ...extra,
  });

  const call = (command: string, conf: unknown = config(), env: Record<string, string> = {}): PluginReply =>
    callPlugin({
      plugin: pluginPath("flannel"),
      command,
      host,
      config: conf,
      env: attachmentEnv("ctr-1", pod.path, { CNI_PATH: cniPath(), ...env }),
    });

  const succeeded = (reply: PluginReply): PluginReply => {
    expect(reply.status, reply.stdout + reply.stderr).to.equal(0);
    return reply;
  };

  it("ADD gives the pod an address of FLANNEL_SUBNET behind cni0, DEL releases it and forgets the config", () => {
    const added = succeeded(call("ADD"));
    const result = added.json as { ips: { address: string; gateway: string }[] };
    expect(result.ips.map((ip) => [ip.address, ip.gateway])).to.deep.equal([["10.244.1.2/24", "10.244.1.1"]]);

    expect(addresses(pod, "eth0")).to.deep.equal(["10.244.1.2/24"]);
    expect(pod.ipJson<IpAddress[]>("link", "show", "eth0")[0]?.mtu).to.equal(1450);
    const routes = pod.ipJson<IpRoute[]>("route", "show").map((r) => [r.dst, r.gateway, r.dev]);
    expect(routes).to.deep.include(["default", "10.244.1.1", "eth0"]);
    expect(routes).to.deep.include(["10.244.0.0/16", "10.244.1.1", "eth0"]);
    expect(addresses(host, "cni0")).to.deep.equal(["10.244.1.1/24"]);
    expect(host.ipJson<IpAddress[]>("link", "show", "cni0")[0]?.mtu).to.equal(1450);

    expect(readFileSync(saved(), "utf8")).to.equal(
      '{"cniVersion":"1.0.0","hairpinMode":true,"ipMasq":false,' +
        `"ipam":{"dataDir":"${ipamDir}","ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],` +
        '"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}',
    );
    expect(statSync(dataDir).mode & 0o777).to.equal(0o700);
    expect(statSync(saved()).mode & 0o777).to.equal(0o600);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(true);

    succeeded(call("DEL"));
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(false);
    expect(pod.ipJson<IpAddress[]>("link", "show").map((l) => l.ifname)).to.deep.equal(["lo"]);
    succeeded(call("DEL"));
  });

  it("delegates to the reference bridge and host-local just as well", () => {
    const added = succeeded(call("ADD", config(), { CNI_PATH: REFERENCE_PLUGINS }));
    expect((added.json as { ips: { address: string }[] }).ips.map((ip) => ip.address)).to.deep.equal(["10.244.1.2/24"]);
    expect(addresses(pod, "eth0")).to.deep.equal(["10.244.1.2/24"]);
    expect(addresses(host, "cni0")).to.deep.equal(["10.244.1.1/24"]);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(true);
    succeeded(call("DEL", config(), { CNI_PATH: REFERENCE_PLUGINS }));
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(false);
  });

  it("ADD on a dual-stack node: one address per family, routes to both cluster networks", () => {
    writeFileSync(subnetFile, DUAL_STACK_SUBNET_ENV);
    succeeded(call("ADD", config({ delegate: {} })));
    expect(addresses(pod, "eth0")).to.deep.equal(["10.244.1.2/24"]);
    expect(addresses(pod, "eth0", "inet6")).to.deep.equal(["fd00:10:244:1::2/64"]);
    const routes6 = pod.ipJson<IpRoute[]>("-6", "route", "show").map((r) => [r.dst, r.gateway]);
    expect(routes6).to.deep.include(["fd00:10:244::/56", "fd00:10:244:1::1"]);
    expect(addresses(host, "cni0", "inet6")).to.deep.equal(["fd00:10:244:1::1/64"]);
    succeeded(call("DEL", config({ delegate: {} })));
    expect(readdirSync(join(ipamDir, "cbr0")).filter((f) => f.includes(":") || f.startsWith("10."))).to.deep.equal([]);
  });

  it("DEL succeeds when nothing was saved, without looking for a delegate", () => {
    succeeded(call("DEL", config(), { CNI_PATH: "/nonexistent" }));
    succeeded(call("DEL", config(), { CNI_PATH: "/nonexistent", CNI_NETNS: "" }));
  });

  it("DEL removes the temporary file of the container's save that a kill interrupted, and no other container's", () => {
    // What a plugin SIGKILLed between writing its delegate config and renaming it into place leaves.
    mkdirSync(dataDir, { recursive: true });
    const interrupted = [".tmp-ctr-1-4242", ".tmp-ctr-1-99"];
    const others = [".tmp-ctr-1-2-4242", ".tmp-ctr-10-4242"];
    for (const name of [...interrupted, ...others]) writeFileSync(join(dataDir, name), '{"type":"bri');
    succeeded(call("DEL", config(), { CNI_PATH: "/nonexistent" }));
    expect(readdirSync(dataDir).sort()).to.deep.equal(others);
  });

  it("DEL keeps the saved config while the delegate's DEL fails, so that a retry releases the address", () => {
    succeeded(call("ADD"));
    const failed = call("DEL", config(), { CNI_PATH: "/nonexistent" });
    expect(failed.status).to.equal(1);
    expect(failed.json?.["msg"]).to.match(/failed to find plugin "bridge"/);
    expect(existsSync(saved())).to.equal(true);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(true);

    succeeded(call("DEL"));
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(false);
  });

  it("DEL replays the saved config after the pod's namespace is gone, releasing the address", () => {
    succeeded(call("ADD"));
    const gone = pod.path;
    pod.delete();
    succeeded(call("DEL", config(), { CNI_NETNS: gone }));
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(false);
  });

  it("a failed delegate ADD leaves no saved config behind", () => {
    // The classic: cni0 kept an address from the node's previous lease.
    host.ip("link", "add", "cni0", "type", "bridge");
    host.ip("addr", "add", "10.244.7.1/24", "dev", "cni0");
    const added = call("ADD");
    expect(added.status).to.equal(1);
    expect(added.json?.["msg"]).to.match(
      /^failed to delegate add: .*"cni0" already has an IP address different from 10\.244\.1\.1\/24/,
    );
    expect(existsSync(saved())).to.equal(false);
    expect(existsSync(join(ipamDir, "cbr0", "10.244.1.2"))).to.equal(false);
  });

  it("ADD without subnet.env fails with upstream's message; STATUS says not ready (50)", () => {
    rmSync(subnetFile);
    const added = call("ADD");
    expect(added.json).to.include({
      code: 11,
      msg: `failed to load flannel 'subnet.env' file: open ${subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
    });
    expect(existsSync(dataDir)).to.equal(false);

    const status = call("STATUS", config({ cniVersion: "1.1.0" }));
    expect(status.status).to.equal(1);
    expect(status.json).to.include({
      code: 50,
      msg: `failed to load flannel 'subnet.env' file: open ${subnetFile}: no such file or directory`,
    });
  });

  it("STATUS is ready through bridge and host-local, and 50 once the node's subnet is exhausted", () => {
    // A /30: the gateway .1 and one address for pods.
    writeFileSync(subnetFile, SUBNET_ENV.replace("10.244.1.1/24", "10.244.1.1/30"));
    const status = () => call("STATUS", config({ cniVersion: "1.1.0" }));
    succeeded(status());
    succeeded(call("ADD", config({ cniVersion: "1.1.0" })));
    const exhausted = status();
    expect(exhausted.status).to.equal(1);
    expect(exhausted.json?.["code"]).to.equal(50);
    succeeded(call("DEL", config({ cniVersion: "1.1.0" })));
    succeeded(status());
  });

  it("GC through bridge and host-local releases the addresses and saved configs of containers that are gone", () => {
    const conf = config({ cniVersion: "1.1.0" });
    const pods = ["ctr-1", "ctr-2", "ctr-3"].map((id) => ({ id, ns: TestNetns.create("gc-pod") }));
    try {
      for (const { id, ns } of pods) succeeded(call("ADD", conf, { CNI_CONTAINERID: id, CNI_NETNS: ns.path }));
      expect(readdirSync(dataDir).sort()).to.deep.equal(["ctr-1", "ctr-2", "ctr-3"]);
      const reserved = () =>
        readdirSync(join(ipamDir, "cbr0"))
          .filter((f) => f.startsWith("10.244."))
          .sort();
      expect(reserved()).to.deep.equal(["10.244.1.2", "10.244.1.3", "10.244.1.4"]);

      const valid = [{ containerID: "ctr-2", ifname: "eth0" }];
      succeeded(call("GC", { ...conf, "cni.dev/valid-attachments": valid }));
      expect(readdirSync(dataDir)).to.deep.equal(["ctr-2"]);
      expect(reserved()).to.deep.equal(["10.244.1.3"]);
    } finally {
      for (const { ns } of pods) ns.delete();
    }
  });

  describe("with a delegate that records what it is given", () => {
    let delegateDir: string;
    let recordings: string;

    beforeEach(() => {
      delegateDir = join(dir, "bin");
      recordings = join(dir, "recordings");
      mkdirSync(delegateDir);
      mkdirSync(recordings);
      symlinkSync(RECORDING_DELEGATE, join(delegateDir, "recorder"));
    });

    const recorded = () =>
      readdirSync(recordings)
        .sort((a, b) => parseInt(a) - parseInt(b))
        .map((file) => [
          file.replace(/^\d+-/, ""),
          JSON.parse(readFileSync(join(recordings, file), "utf8")) as unknown,
        ]);

    const recorderCall = (command: string, extra: Record<string, unknown>, containerId = "ctr-1") =>
      call(command, config({ cniVersion: "1.1.0", delegate: { type: "recorder" }, ...extra }), {
        CNI_PATH: delegateDir,
        CNI_CONTAINERID: containerId,
        RECORDING_DIR: recordings,
      });

    it("STATUS asks the delegate with the config ADD would give it", () => {
      succeeded(recorderCall("STATUS", {}));
      const [[command, stdin]] = recorded() as [[string, Record<string, unknown>]];
      expect(command).to.equal("STATUS");
      expect(stdin).to.include({ type: "recorder", name: "cbr0", cniVersion: "1.1.0", mtu: 1450 });
    });

    it("GC forwards the valid attachments, then removes the saved configs of the other containers", () => {
      for (const id of ["ctr-1", "ctr-2", "ctr-3"]) succeeded(recorderCall("ADD", {}, id));
      const valid = [{ containerID: "ctr-2", ifname: "eth0" }];
      succeeded(recorderCall("GC", { "cni.dev/valid-attachments": valid }));
      const gc = recorded().at(-1) as [string, Record<string, unknown>];
      expect(gc[0]).to.equal("GC");
      expect(gc[1]["cni.dev/valid-attachments"]).to.deep.equal(valid);
      expect(readdirSync(dataDir)).to.deep.equal(["ctr-2"]);
    });
  });
});

// The flannel plugin's verbs through the real skeleton, with the delegate replaced by a recording
// runner: what the delegate receives (stdin, CNI_COMMAND, environment), and what happens to the
// saved config when the delegate succeeds or fails.

import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { BufferedIo, type Env } from "../../../cni/io";
import type { PluginOutput } from "../../../cni/invoke";
import { runPlugin } from "../../../cni/skel";
import { PLUGINS } from "../../../cmd/plugins";
import { scratchDir } from "../../helpers/suite";

const FLANNEL = PLUGINS.get("flannel");
const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const DELEGATE_CONFIG =
  '{"cniVersion":"1.1.0","hairpinMode":true,"ipMasq":false,' +
  '"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
  '"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}';
const BRIDGE_RESULT = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mac: "0a:58:0a:f4:01:02", sandbox: "/run/netns/pod" }],
  ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }],
};

interface DelegateCall {
  readonly path: string;
  readonly env: Env;
  readonly stdin: string;
}

describe("flannel plugin", () => {
  let root: string;
  let subnetFile: string;
  let dataDir: string;
  let calls: DelegateCall[];
  let reply: (call: DelegateCall) => PluginOutput;

  beforeEach(() => {
    root = scratchDir("flannel-plugin");
    subnetFile = join(root, "subnet.env");
    dataDir = join(root, "data");
    writeFileSync(subnetFile, SUBNET_ENV);
    calls = [];
    reply = (call) => ok(call.env["CNI_COMMAND"] === "ADD" ? JSON.stringify(BRIDGE_RESULT) : "");
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const ok = (stdout: string): PluginOutput => ({ exitCode: 0, stdout, stderr: "" });
  const failed = (code: number, msg: string): PluginOutput => ({
    exitCode: 1,
    stdout: JSON.stringify({ code, msg }),
    stderr: "",
  });
  const saved = (containerId = "ctr-1") => join(dataDir, containerId);

  const config = (extra: Record<string, unknown> = {}) => ({
    cniVersion: "1.1.0",
    name: "cbr0",
    type: "flannel",
    subnetFile,
    dataDir,
    delegate: { hairpinMode: true },
    ...extra,
  });

  /** Runs one verb; returns the exit status and stdout parsed. */
  async function run(command: string, conf: unknown = config(), env: Record<string, string> = {}) {
    if (FLANNEL === undefined) throw new Error("flannel is not registered in cmd/plugins.ts");
    const io = new BufferedIo(
      {
        CNI_COMMAND: command,
        CNI_CONTAINERID: "ctr-1",
        CNI_NETNS: "/run/netns/pod",
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
        K8S_EXTRA: "kept",
        ...env,
      },
      JSON.stringify(conf),
    );
    const status = await runPlugin(FLANNEL, io, {
      about: "flannel",
      probeNetns: async (path) => (path === "/run/netns/pod" ? "netns" : "missing"),
      find: async (type) => `/opt/cni/bin/${type}`,
      runner: {
        run: async (path, callEnv, stdin) => {
          const call = { path, env: callEnv, stdin: new TextDecoder().decode(stdin) };
          calls.push(call);
          return reply(call);
        },
      },
    });
    const stdout = io.stdoutText.trim();
    return { status, json: stdout === "" ? undefined : (JSON.parse(stdout) as Record<string, unknown>) };
  }

  describe("ADD", () => {
    it("saves the generated config, then runs the delegate with it as stdin and the same environment", async () => {
      const added = await run("ADD");
      expect(added.status, JSON.stringify(added.json)).to.equal(0);
      expect(added.json).to.deep.equal(BRIDGE_RESULT);
      expect(calls).to.have.length(1);
      const [call] = calls;
      expect(call?.path).to.equal("/opt/cni/bin/bridge");
      expect(call?.stdin).to.equal(DELEGATE_CONFIG);
      expect(call?.env).to.include({
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "ctr-1",
        CNI_IFNAME: "eth0",
        K8S_EXTRA: "kept",
      });
      expect(readFileSync(saved(), "utf8")).to.equal(DELEGATE_CONFIG);
    });

    it("removes the saved config when the delegate fails, and reports its error as upstream words it", async () => {
      reply = () =>
        failed(11, 'failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24');
      const added = await run("ADD");
      expect(added.status).to.equal(1);
      expect(added.json).to.include({
        code: 11,
        msg: 'failed to delegate add: failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24',
      });
      expect(existsSync(saved())).to.equal(false);
    });

    it("fails with upstream's message, code 11 (try again later), when subnet.env is missing", async () => {
      rmSync(subnetFile);
      const added = await run("ADD");
      expect(added.status).to.equal(1);
      expect(added.json).to.include({
        code: 11,
        msg: `failed to load flannel 'subnet.env' file: open ${subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
      });
      expect(calls).to.deep.equal([]);
      expect(existsSync(dataDir)).to.equal(false);
    });

    it("fails with code 5 (I/O failure) when subnet.env cannot be read", async () => {
      rmSync(subnetFile);
      mkdirSync(subnetFile);
      const added = await run("ADD");
      expect(added.json).to.include({ code: 5 });
      expect(String(added.json?.["msg"])).to.match(/^failed to load flannel 'subnet.env' file: .*is a directory/);
    });

    it("fails with code 999 on an incomplete subnet.env, naming what is missing", async () => {
      writeFileSync(subnetFile, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n");
      const added = await run("ADD");
      expect(added.json).to.include({
        code: 999,
        msg: `failed to load flannel 'subnet.env' file: ${subnetFile} is missing FLANNEL_MTU, FLANNEL_IPMASQ. Check the flannel pod log for this node.`,
      });
    });

    it("fails with code 5 when the config cannot be saved, and runs no delegate", async () => {
      writeFileSync(dataDir, "a file where the directory should be");
      const added = await run("ADD");
      expect(added.json).to.include({ code: 5, msg: `failed to save the delegate config ${dataDir}/ctr-1` });
      expect(added.json?.["details"]).to.match(/^(ENOTDIR|EEXIST)/);
      expect(calls).to.deep.equal([]);
    });
  });

  describe("DEL", () => {
    it("replays the saved bytes (not today's subnet.env), then forgets them", async () => {
      expect((await run("ADD")).status).to.equal(0);
      writeFileSync(subnetFile, SUBNET_ENV.replace("10.244.1.1/24", "10.244.9.1/24"));
      calls = [];
      const deleted = await run("DEL");
      expect(deleted.status, JSON.stringify(deleted.json)).to.equal(0);
      expect(calls.map((c) => [c.path, c.env["CNI_COMMAND"], c.stdin])).to.deep.equal([
        ["/opt/cni/bin/bridge", "DEL", DELEGATE_CONFIG],
      ]);
      expect(existsSync(saved())).to.equal(false);
    });

    it("keeps the saved config when the delegate's DEL fails, so that a retry still releases the address", async () => {
      expect((await run("ADD")).status).to.equal(0);
      reply = () => failed(999, "host-local: cannot release");
      const deleted = await run("DEL");
      expect(deleted.status).to.equal(1);
      expect(deleted.json).to.include({ code: 999, msg: "host-local: cannot release" });
      expect(readFileSync(saved(), "utf8")).to.equal(DELEGATE_CONFIG);

      reply = () => ok("");
      expect((await run("DEL")).status).to.equal(0);
      expect(existsSync(saved())).to.equal(false);
    });

    it("succeeds without a delegate when nothing was saved, even without subnet.env or a namespace", async () => {
      rmSync(subnetFile);
      expect((await run("DEL", config(), { CNI_NETNS: "" })).status).to.equal(0);
      expect((await run("DEL", config(), { CNI_NETNS: "/run/netns/gone" })).status).to.equal(0);
      expect(calls).to.deep.equal([]);
    });

    it("replays when the namespace is gone: the delegate cleans up what is outside it", async () => {
      expect((await run("ADD")).status).to.equal(0);
      calls = [];
      expect((await run("DEL", config(), { CNI_NETNS: "/run/netns/gone" })).status).to.equal(0);
      expect(calls.map((c) => c.env["CNI_NETNS"])).to.deep.equal(["/run/netns/gone"]);
      expect(existsSync(saved())).to.equal(false);
    });

    it("succeeds without a delegate for a container ID too long to have been saved", async () => {
      const deleted = await run("DEL", config(), { CNI_CONTAINERID: `c${"1".repeat(300)}` });
      expect(deleted.status, JSON.stringify(deleted.json)).to.equal(0);
      expect(calls).to.deep.equal([]);
    });

    it("succeeds, keeping the file for GC, when the saved config is unreadable", async () => {
      mkdirSync(dataDir);
      writeFileSync(saved(), '{"type":');
      expect((await run("DEL")).status).to.equal(0);
      expect(calls).to.deep.equal([]);
      expect(existsSync(saved())).to.equal(true);
    });
  });

  describe("CHECK", () => {
    it("replays the saved config with the runtime's prevResult and current cniVersion", async () => {
      expect((await run("ADD", config({ cniVersion: "1.0.0" }))).status).to.equal(0);
      calls = [];
      const prevResult = { ...BRIDGE_RESULT, cniVersion: "1.1.0" };
      const checked = await run("CHECK", config({ prevResult }));
      expect(checked.status, JSON.stringify(checked.json)).to.equal(0);
      expect(calls).to.have.length(1);
      expect(calls[0]?.env["CNI_COMMAND"]).to.equal("CHECK");
      expect(JSON.parse(calls[0]?.stdin ?? "")).to.deep.equal({
        ...(JSON.parse(DELEGATE_CONFIG) as object),
        cniVersion: "1.1.0",
        prevResult,
      });
    });

    it("fails when nothing was saved for the container", async () => {
      const checked = await run("CHECK");
      expect(checked.status).to.equal(1);
      expect(checked.json?.["msg"]).to.equal("no usable saved delegate config for container ctr-1");
      expect(calls).to.deep.equal([]);
    });

    it("reports the delegate's CHECK failure", async () => {
      expect((await run("ADD")).status).to.equal(0);
      reply = () => failed(999, "eth0: address 10.244.1.2/24 is missing");
      expect((await run("CHECK")).json).to.include({ msg: "eth0: address 10.244.1.2/24 is missing" });
    });
  });

  describe("STATUS", () => {
    const status = () => run("STATUS", config(), { CNI_CONTAINERID: "", CNI_NETNS: "", CNI_IFNAME: "" });

    it("is 50 with a clear message while subnet.env is missing, unreadable or incomplete", async () => {
      rmSync(subnetFile);
      const missing = await status();
      expect(missing.status).to.equal(1);
      expect(missing.json).to.include({
        code: 50,
        msg: `failed to load flannel 'subnet.env' file: open ${subnetFile}: no such file or directory`,
      });
      expect(missing.json?.["details"]).to.contain("writes this file once it holds a subnet for this node");

      mkdirSync(subnetFile);
      expect((await status()).json).to.include({
        code: 50,
        msg: `failed to load flannel 'subnet.env' file: read ${subnetFile}: is a directory`,
      });
      rmSync(subnetFile, { recursive: true });

      writeFileSync(subnetFile, "FLANNEL_NETWORK=10.244.0.0/16\n");
      expect((await status()).json).to.include({ code: 50 });
      expect(calls).to.deep.equal([]);
    });

    it("asks the delegate, with the config ADD would give it, once subnet.env is there", async () => {
      const ready = await status();
      expect(ready.status, JSON.stringify(ready.json)).to.equal(0);
      expect(calls.map((c) => [c.env["CNI_COMMAND"], c.stdin])).to.deep.equal([["STATUS", DELEGATE_CONFIG]]);

      reply = () => failed(50, "host-local: range exhausted");
      expect((await status()).json).to.include({ code: 50, msg: "host-local: range exhausted" });
    });
  });

  describe("GC", () => {
    const gc = (attachments: unknown) =>
      run("GC", config(attachments === undefined ? {} : { "cni.dev/valid-attachments": attachments }), {
        CNI_CONTAINERID: "",
        CNI_NETNS: "",
        CNI_IFNAME: "",
      });

    beforeEach(async () => {
      for (const id of ["ctr-1", "ctr-2", "ctr-3"]) {
        expect((await run("ADD", config(), { CNI_CONTAINERID: id })).status).to.equal(0);
      }
      writeFileSync(join(dataDir, ".tmp-ctr-4-99"), "torn");
      calls = [];
    });

    it("forwards GC with the valid attachments, then drops the saved configs of the other containers", async () => {
      const valid = [{ containerID: "ctr-2", ifname: "eth0" }];
      const collected = await gc(valid);
      expect(collected.status, JSON.stringify(collected.json)).to.equal(0);
      expect(calls).to.have.length(1);
      expect(calls[0]?.env["CNI_COMMAND"]).to.equal("GC");
      expect(JSON.parse(calls[0]?.stdin ?? "")).to.deep.equal({
        ...(JSON.parse(DELEGATE_CONFIG) as object),
        "cni.dev/valid-attachments": valid,
      });
      expect(existsSync(saved("ctr-1"))).to.equal(false);
      expect(existsSync(saved("ctr-2"))).to.equal(true);
      expect(existsSync(saved("ctr-3"))).to.equal(false);
      expect(existsSync(join(dataDir, ".tmp-ctr-4-99"))).to.equal(false);
    });

    it("keeps every saved config when the delegate's GC fails, or when no list was given", async () => {
      reply = () => failed(999, "host-local: gc failed");
      expect((await gc([])).json).to.include({ msg: "host-local: gc failed" });
      reply = () => ok("");
      expect((await gc(undefined)).status).to.equal(0);
      for (const id of ["ctr-1", "ctr-2", "ctr-3"]) expect(existsSync(saved(id)), id).to.equal(true);
    });

    it("fails, removing nothing, while subnet.env is missing", async () => {
      rmSync(subnetFile);
      expect((await gc([])).json).to.include({ code: 11 });
      expect(calls).to.deep.equal([]);
      for (const id of ["ctr-1", "ctr-2", "ctr-3"]) expect(existsSync(saved(id)), id).to.equal(true);
    });
  });
});

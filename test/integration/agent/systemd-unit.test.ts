// conf/tscni-agent.service: systemd accepts it, and its hardening leaves the agent what it needs.
// The agent runs with exactly the unit's capability bounding set and no_new_privs (setpriv), in a
// node namespace, with the unit's own command line (paths moved into the test's directory).

import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import { Cluster, eventually } from "../../helpers/cluster";
import { runOk, run } from "../../helpers/run";
import { BUILT_BINARY, REPO_ROOT, scratchDir } from "../../helpers/suite";
import { parseUnitFile } from "../../support/systemd-unit";
import type { IpLinkDetails } from "./fixture";

const UNIT_FILE = join(REPO_ROOT, "conf/tscni-agent.service");
const unit = parseUnitFile(readFileSync(UNIT_FILE, "utf8"));

describe("conf/tscni-agent.service", () => {
  it("passes systemd-analyze verify, with the binary installed where ExecStart runs it", () => {
    const root = scratchDir("systemd-root");
    try {
      const binDir = unit
        .one("Service", "ExecStart")
        .split(/\s+/)[0]!
        .replace(/\/[^/]+$/, "");
      runOk(BUILT_BINARY, ["install", "--dest", join(root, binDir), "--log-level", "error"]);
      mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
      cpSync(UNIT_FILE, join(root, "etc/systemd/system/tscni-agent.service"));
      // The targets the unit refers to.
      cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), {
        recursive: true,
        verbatimSymlinks: true,
      });
      const verify = run("systemd-analyze", ["verify", `--root=${root}`, "tscni-agent.service"]);
      expect(verify.stderr + verify.stdout).to.equal("");
      expect(verify.status).to.equal(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe("the agent within the unit's hardening", () => {
    let cluster: Cluster;
    let agent: ChildProcess | undefined;

    beforeEach(() => {
      cluster = new Cluster();
    });
    afterEach(async () => {
      if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
        agent.kill("SIGKILL");
        await once(agent, "exit");
      }
      cluster.destroy();
    });

    it("leases, creates its device and installs its rules with only the unit's capabilities", async () => {
      const node = cluster.addNode();
      const [, ...args] = unit.one("Service", "ExecStart").split(/\s+/);
      const moved = args.map((arg, i) => {
        if (args[i - 1] === "--net-config-path") return join(REPO_ROOT, "conf/net-conf.json");
        if (args[i - 1] === "--subnet-file") return node.subnetFile;
        return arg;
      });
      const capabilities = unit
        .one("Service", "CapabilityBoundingSet")
        .split(/\s+/)
        .map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`);
      expect(unit.one("Service", "NoNewPrivileges")).to.equal("yes");
      const setpriv = ["setpriv", `--bounding-set=-all,${capabilities.join(",")}`, "--inh-caps=-all", "--no-new-privs"];
      agent = spawn(
        "ip",
        [
          ...["netns", "exec", node.ns.name, ...setpriv, "--", BUILT_BINARY, ...moved],
          ...["--store", `file:${join(cluster.dir, "leases")}`, "--metrics-address", ""],
        ],
        { stdio: ["ignore", "ignore", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
      );
      let logs = "";
      agent.stderr?.on("data", (chunk: Buffer) => (logs += chunk.toString()));
      const ready = await eventually(() => {
        try {
          const up = node.ns.ipJson<IpLinkDetails[]>("link", "show", "flannel.1")[0]?.flags.includes("UP") === true;
          return up && readFileSync(node.subnetFile, "utf8").includes("FLANNEL_SUBNET=10.244.");
        } catch {
          return false;
        }
      });
      expect(ready, logs).to.equal(true);
      // The capabilities really are the unit's.
      const status = readFileSync(`/proc/${agent.pid}/status`, "utf8");
      expect(/^CapEff:\s+0*3000$/m.test(status), status).to.equal(true); // CAP_NET_ADMIN (12) | CAP_NET_RAW (13)
      expect(/^NoNewPrivs:\s+1$/m.test(status)).to.equal(true);
      expect(
        await eventually(() => node.ns.exec("iptables-save", ["-t", "filter"]).stdout.includes("FLANNEL-FWD")),
      ).to.equal(true);
      agent.kill("SIGTERM");
      const [code] = await once(agent, "exit");
      expect(code, logs).to.equal(0);
    });
  });
});

// `make demo` (demo/demo.ts) as a user runs it: to the end, and interrupted half-way. Either way it
// leaves nothing behind: no namespace of its own, no process it started, no file, and the root
// namespace as it was (links, addresses, routes, rules, firewall rules, sysctls).

import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import { NetnsGroup } from "../../netlab/netns";
import { eventually } from "../helpers/cluster";
import { rootNetnsSnapshot } from "../helpers/root-netns";
import { run } from "../helpers/run";
import { REPO_ROOT } from "../helpers/suite";

class DemoRun {
  readonly child: ChildProcess;
  readonly pid: number;
  private text = "";
  readonly exited: Promise<number | null>;

  constructor(overrides: NodeJS.ProcessEnv = {}) {
    const env = { ...process.env, ...overrides };
    delete env["NODE_EXTRA_CA_CERTS"];
    this.child = spawn(process.execPath, ["--import=tsx", "demo/demo.ts"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (this.child.pid === undefined) throw new Error("cannot start the demo");
    this.pid = this.child.pid;
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.text += chunk));
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.text += chunk));
    this.exited = once(this.child, "exit").then(([code]) => code as number | null);
  }

  get output(): string {
    return this.text;
  }

  /** The PIDs of the agents it reported as started. */
  get agentPids(): number[] {
    return [...this.text.matchAll(/agent pid (\d+)/g)].map((match) => Number(match[1]));
  }

  /** Its working directory, as it announced it. */
  get dir(): string {
    const match = /files in (\S+)\/ /.exec(this.text);
    if (match?.[1] === undefined) throw new Error(`the demo did not say where its files are:\n${this.text}`);
    return join(REPO_ROOT, match[1]);
  }

  /**
   * After a failed test: stops the demo if it still runs, then removes by hand whatever it left
   * (namespaces of its prefix, agents whose command line names its directory, the directory).
   */
  async cleanUp(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    new NetnsGroup(`tscni-demo-${this.pid}-`).deleteAll();
    const dir = /files in (\S+)\/ /.exec(this.text)?.[1];
    if (dir === undefined) return;
    for (const line of processesMentioning(join(REPO_ROOT, dir))) process.kill(Number(line.split(":")[0]), "SIGKILL");
    rmSync(join(REPO_ROOT, dir), { recursive: true, force: true });
  }
}

/** Processes whose command line mentions `text` (the demo's directory is on every agent's). */
function processesMentioning(text: string): string[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .flatMap((pid) => {
      try {
        const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        return commandLine.includes(text) ? [`${pid}: ${commandLine}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

describe("make demo (demo/demo.ts)", function () {
  let demo: DemoRun | undefined;
  let rootBefore: ReturnType<typeof rootNetnsSnapshot>;

  beforeEach(() => {
    rootBefore = rootNetnsSnapshot();
  });
  afterEach(async () => {
    await demo?.cleanUp();
    demo = undefined;
  });

  async function expectNothingLeft(run: DemoRun): Promise<void> {
    const namespaces = netnsNames().filter((name) => name.startsWith(`tscni-demo-${run.pid}-`));
    expect(namespaces, "namespaces").to.deep.equal([]);
    const agentsGone = await eventually(() => run.agentPids.every((pid) => !existsSync(`/proc/${pid}`)), 2_000);
    expect(agentsGone, `agents still running: ${run.agentPids.join(", ")}`).to.equal(true);
    expect(processesMentioning(run.dir), "processes").to.deep.equal([]);
    expect(existsSync(run.dir), `${run.dir} exists`).to.equal(false);
    expect(rootNetnsSnapshot(), "the root network namespace").to.deep.equal(rootBefore);
  }

  it("removes what it built when building fails (no sysctl on PATH for the nodes' forwarding), and exits 1", async () => {
    expect(existsSync("/usr/bin/sysctl"), "sysctl must live in /usr/sbin (Debian's procps) for this test").to.equal(
      false,
    );
    const current = new DemoRun({ PATH: "/usr/bin:/bin" });
    demo = current;
    expect(await current.exited, current.output).to.equal(1);
    expect(current.output).to.match(/demo failed: .*sysctl/);
    await expectNothingLeft(current);
  });

  it("prints a full connectivity matrix and the agents' peers, exits 0 and leaves nothing behind", async () => {
    const current = new DemoRun();
    demo = current;
    const code = await current.exited;
    expect(code, current.output).to.equal(0);
    const matrix = current.output.slice(current.output.indexOf("connectivity:"), current.output.indexOf("peers:"));
    expect(matrix.match(/✓/g), matrix).to.have.length(30);
    expect(matrix).to.not.contain("✗");
    expect(current.output).to.contain("30/30 pairs reach each other");
    const peers = current.output.slice(current.output.indexOf("peers:"), current.output.indexOf("removing:"));
    expect(peers.match(/leased peers 2, programmed 2, agent's \/metrics tscni_agent_peers 2/g), peers).to.have.length(
      3,
    );
    expect(peers.match(/route ✓ {2}neighbour ✓ {2}fdb ✓/g), peers).to.have.length(6);
    expect(current.agentPids).to.have.length(3);
    await expectNothingLeft(current);
  });

  for (const [signal, after, code] of [
    ["SIGINT", /node3 .*agent pid \d+/, 130],
    ["SIGTERM", /node1 .*agent pid \d+/, 143],
  ] as const) {
    it(`removes everything when it gets ${signal} once ${after.source.split(" ")[0]}'s agent runs, and exits ${code}`, async () => {
      const current = new DemoRun();
      demo = current;
      expect(await eventually(() => after.test(current.output) || current.child.exitCode !== null, 30_000)).to.equal(
        true,
      );
      process.kill(current.pid, signal);
      expect(await current.exited, current.output).to.equal(code);
      expect(current.output).to.contain(`${signal}: removing the demo cluster`);
      expect(current.agentPids).to.not.be.empty;
      await expectNothingLeft(current);
    });
  }
});

function netnsNames(): string[] {
  return run("ip", ["netns", "list"])
    .stdout.split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

// A real etcd (Debian's etcd-server) for tests, started inside a test network namespace and
// listening on an address there: nothing listens in the root namespace, and only code running in
// that namespace (or routed into it) can reach it. Its data lives under build/; stop() kills it by
// PID and removes the data, and an exit hook does the same for a test that failed half-way.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { TestNetns } from "./netns";
import { run, runOk, type RunResult } from "./run";
import { scratchDir } from "./suite";

export interface TestEtcdOptions {
  /** The address to listen on, inside the namespace (default 127.0.0.1). */
  readonly host?: string;
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Serve clients over TLS and require a client certificate signed by a CA made for the test. */
  readonly tls?: boolean;
}

/** PEM files of a TLS-serving test etcd: its CA, and a client certificate it accepts. */
export interface TestEtcdTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

const live = new Set<TestEtcd>();

process.on("exit", () => {
  for (const etcd of live) etcd.killNow();
});

export class TestEtcd {
  readonly ns: TestNetns;
  readonly host: string;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Set when the etcd serves TLS. */
  readonly tls: TestEtcdTlsFiles | undefined;
  private readonly serverTls: TestEtcdTlsFiles | undefined;
  private process: ChildProcess | undefined;
  private clientPort: number;
  private logText = "";

  private constructor(ns: TestNetns, options: TestEtcdOptions) {
    this.ns = ns;
    this.host = options.host ?? "127.0.0.1";
    this.clientPort = options.clientPort ?? 2379;
    this.peerPort = options.peerPort ?? 2380;
    const root = scratchDir("etcd");
    this.dataDir = join(root, "data");
    if (options.tls === true) {
      const { client, server } = makeCertificates(join(root, "pki"), this.host);
      this.tls = client;
      this.serverTls = server;
    }
  }

  /** Starts etcd in `ns` (its loopback must be up, or `host` configured) and waits until it serves. */
  static async start(ns: TestNetns, options: TestEtcdOptions = {}): Promise<TestEtcd> {
    const etcd = new TestEtcd(ns, options);
    live.add(etcd);
    try {
      await etcd.launch();
    } catch (error: unknown) {
      await etcd.stop();
      throw error;
    }
    return etcd;
  }

  /** The client URL, e.g. http://127.0.0.1:2379. */
  get endpoint(): string {
    return `${this.tls === undefined ? "http" : "https"}://${this.host}:${this.clientPort}`;
  }

  /** etcd's own output, for failure messages. */
  get log(): string {
    return this.logText;
  }

  /** Runs etcdctl (v3 API) against this etcd, inside its namespace; returns stdout. */
  etcdctl(...args: string[]): string {
    const result = this.runEtcdctl(args);
    if (result.status !== 0) throw new Error(`etcdctl ${args.join(" ")} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  private runEtcdctl(args: readonly string[]): RunResult {
    const tls =
      this.tls === undefined
        ? []
        : [`--cacert=${this.tls.caFile}`, `--cert=${this.tls.certFile}`, `--key=${this.tls.keyFile}`];
    return run("ip", ["netns", "exec", this.ns.name, "etcdctl", `--endpoints=${this.endpoint}`, ...tls, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
  }

  /** The current revision of the store. */
  revision(): number {
    const status = JSON.parse(this.etcdctl("endpoint", "status", "-w", "json")) as {
      Status: { header: { revision: number } };
    }[];
    return status[0]?.Status.header.revision ?? 0;
  }

  /** Stops the server and keeps its data, e.g. to restart it on another client port. */
  async pause(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts the server again on its data, optionally on another client port. */
  async resume(clientPort = this.clientPort): Promise<void> {
    this.clientPort = clientPort;
    await this.launch();
  }

  /** Kills the server and removes its data. */
  async stop(): Promise<void> {
    await this.pause();
    rmSync(join(this.dataDir, ".."), { recursive: true, force: true });
    live.delete(this);
  }

  killNow(): void {
    this.process?.kill("SIGKILL");
    rmSync(join(this.dataDir, ".."), { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const peer = `http://${this.host}:${this.peerPort}`;
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.ns.name,
        // `ip netns exec` execs etcd: the child's PID is etcd's.
        "etcd",
        "--name=test",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${this.endpoint}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        ...(this.serverTls === undefined
          ? []
          : [
              `--cert-file=${this.serverTls.certFile}`,
              `--key-file=${this.serverTls.keyFile}`,
              `--trusted-ca-file=${this.serverTls.caFile}`,
              "--client-cert-auth",
            ]),
        "--logger=zap",
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.process = child;
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.logText += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.logText += chunk));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd exited during start-up: ${this.logText.trim()}`);
      }
      const health = this.runEtcdctl(["--dial-timeout=300ms", "--command-timeout=1s", "endpoint", "health"]);
      if (health.status === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`etcd did not become healthy in 20 s: ${this.logText.trim()}`);
  }
}

/** A CA, and a server (for `host`) and a client certificate it signed, made with openssl. */
function makeCertificates(dir: string, host: string): { client: TestEtcdTlsFiles; server: TestEtcdTlsFiles } {
  mkdirSync(dir, { recursive: true });
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void runOk("openssl", args, { cwd: dir });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=tscni test CA");
  const issue = (name: string, extensions: string): TestEtcdTlsFiles => {
    writeFileSync(path(`${name}.ext`), extensions);
    openssl("req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    );
    return { caFile: path("ca.crt"), certFile: path(`${name}.crt`), keyFile: path(`${name}.key`) };
  };
  return {
    // clientAuth too: etcd's JSON gateway dials etcd's own gRPC port with the server certificate,
    // and without it every gateway request fails with "connection closed".
    server: issue("server", `subjectAltName=IP:${host}\nextendedKeyUsage=serverAuth,clientAuth\n`),
    client: issue("client", "extendedKeyUsage=clientAuth\n"),
  };
}

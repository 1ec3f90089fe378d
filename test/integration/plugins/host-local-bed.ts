// A test bed for host-local binaries (ours or the reference): a data dir of its own, a pod
// namespace for CNI_NETNS, calls made as a runtime makes them (one at a time or many at once), and
// the data dir read back with node:fs as the oracle. host-local needs no "host" namespace: it
// touches no network state, only its data dir.

import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { arch } from "node:process";
import { join } from "node:path";

import { callPlugin, type PluginReply } from "../../helpers/cni-exec";
import { TestNetns } from "../../helpers/netns";
import { pluginPath, REFERENCE_PLUGINS, scratchDir } from "../../helpers/suite";

export const OURS = (): string => pluginPath("host-local");
export const REFERENCE = join(REFERENCE_PLUGINS, "host-local");
export const NETWORK = "hl-net";

/** flock(2)'s system call number, as /proc/<pid>/task/<tid>/syscall shows it. */
const FLOCK_SYSCALL: Readonly<Record<string, number>> = { x64: 73, arm64: 32 };

export interface Call {
  readonly containerId?: string;
  readonly ifName?: string;
  /** Replaces `ipam` keys of the bed's config. */
  readonly ipam?: Record<string, unknown>;
  /** Top-level config keys (args, runtimeConfig, prevResult, cni.dev/valid-attachments...). */
  readonly extra?: Record<string, unknown>;
  readonly cniVersion?: string;
  readonly env?: Record<string, string>;
  readonly netns?: string;
}

export interface DataFile {
  readonly content: string;
  readonly mode: number;
}

export class HostLocalBed {
  readonly pod: TestNetns;
  readonly root: string;
  readonly dataDir: string;
  private readonly ipam: Record<string, unknown>;

  constructor(ipam: Record<string, unknown>) {
    this.pod = TestNetns.create("pod");
    this.root = scratchDir("host-local");
    this.dataDir = join(this.root, "networks");
    this.ipam = { type: "host-local", dataDir: this.dataDir, ...ipam };
  }

  get networkDir(): string {
    return join(this.dataDir, NETWORK);
  }

  config(call: Call = {}): Record<string, unknown> {
    return {
      cniVersion: call.cniVersion ?? "1.0.0",
      name: NETWORK,
      type: "host-local",
      ipam: { ...this.ipam, ...call.ipam },
      ...call.extra,
    };
  }

  env(command: string, call: Call): Record<string, string> {
    const attachment =
      command === "GC" || command === "STATUS"
        ? {}
        : {
            CNI_CONTAINERID: call.containerId ?? "ctr-1",
            CNI_IFNAME: call.ifName ?? "eth0",
            CNI_NETNS: call.netns ?? this.pod.path,
          };
    return { CNI_PATH: "/nonexistent", ...attachment, ...call.env };
  }

  call(plugin: string, command: string, call: Call = {}): PluginReply {
    return callPlugin({ plugin, command, config: this.config(call), env: this.env(command, call) });
  }

  /** Runs the calls at once, each in its own process, and waits for all. */
  callConcurrently(calls: readonly { plugin: string; command: string; call: Call }[]): Promise<PluginReply[]> {
    return Promise.all(calls.map(({ plugin, command, call }) => this.start(plugin, command, call).reply));
  }

  /** The addresses of an ADD result of version 0.3.0 or later, without prefixes. */
  static addresses(reply: PluginReply): string[] {
    const ips = (reply.json?.["ips"] ?? []) as { address: string }[];
    return ips.map((ip) => ip.address.split("/")[0] ?? "");
  }

  /** Every file of the network's directory: content and permission bits. */
  files(): Record<string, DataFile> {
    const files: Record<string, DataFile> = {};
    for (const name of readdirSync(this.networkDir).sort()) {
      const path = join(this.networkDir, name);
      const stat = statSync(path);
      const content = stat.isDirectory() ? "(a directory)" : readFileSync(path, "latin1");
      files[name] = { content, mode: stat.mode & 0o7777 };
    }
    return files;
  }

  /** The reservation files only (named by an address), with their content. */
  reservations(): Record<string, string> {
    return Object.fromEntries(
      Object.entries(this.files())
        .filter(([name]) => name !== "lock" && !name.startsWith("last_reserved_ip."))
        .map(([name, file]) => [name, file.content]),
    );
  }

  /** Holds LOCK_EX on the network's lock file (util-linux flock) until `release`. */
  async holdLock(): Promise<{ release(): Promise<void> }> {
    const holder = spawn("flock", ["-x", join(this.networkDir, "lock"), "sh", "-c", "echo locked; read _"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const closed = new Promise<void>((resolve) => holder.on("close", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => resolve());
      holder.on("error", reject);
    });
    return {
      release: async () => {
        holder.stdin.end();
        await closed;
      },
    };
  }

  /** Waits until a thread of `pid` sits in flock(2); false if it never does within 10 s. */
  static async waitInFlock(pid: number): Promise<boolean> {
    const number = FLOCK_SYSCALL[arch];
    if (number === undefined) throw new Error(`no flock system call number known for ${arch}`);
    for (let attempt = 0; attempt < 1000; attempt++) {
      let threads: string[] = [];
      try {
        threads = readdirSync(`/proc/${pid}/task`);
      } catch {
        return false;
      }
      for (const tid of threads) {
        try {
          if (readFileSync(`/proc/${pid}/task/${tid}/syscall`, "utf8").startsWith(`${number} `)) return true;
        } catch {
          // The thread ended meanwhile.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
    this.pod.delete();
  }

  /** Starts a call without waiting for it. */
  start(
    plugin: string,
    command: string,
    call: Call = {},
  ): { readonly pid: number; readonly reply: Promise<PluginReply> } {
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", CNI_COMMAND: command, ...this.env(command, call) };
    const child = spawn(plugin, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    const reply = new Promise<PluginReply>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (status, signal) => {
        const trimmed = stdout.trim();
        const json = trimmed === "" ? undefined : (JSON.parse(trimmed) as Record<string, unknown>);
        resolve({ status, signal, stdout, stderr, json });
      });
      child.stdin.end(JSON.stringify(this.config(call)));
    });
    if (child.pid === undefined) throw new Error(`cannot start ${plugin}`);
    return { pid: child.pid, reply };
  }
}

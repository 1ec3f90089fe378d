// A node with pods and two peers, all namespaces made by the test, for real traffic through the
// masquerade and forward rules:
//
//   pod (10.244.1.5, fd10:0:0:1::5) -- cni0 bridge -- host -- up0 -- outside (192.0.2.2, 2001:db8::2)
//                                                        \--- rp0 -- remote  (10.244.2.9, fd10:0:0:2::9)
//
// `outside` stands for the internet and routes the pod network back to the host, so a packet that
// was not masqueraded still gets its answer: every check sees an address, the pod's or the host's.
// `remote` stands for a pod on another node of the cluster network 10.244.0.0/16. Each peer runs a
// TCP server that answers with the address it sees the connection come from.

import { type ChildProcess, spawn } from "node:child_process";

import { TestNetns } from "../../helpers/netns";
import { run } from "../../helpers/run";

const PORT = 8080;
const SERVER = `
const server = require("node:net").createServer((c) => c.end(c.remoteAddress.replace(/^::ffff:/, "")));
server.listen(${PORT}, "::", () => console.log("listening"));`;
const CLIENT = `
const [host, timeout] = process.argv.slice(1);
const socket = require("node:net").connect({ host, port: ${PORT}, timeout: Number(timeout) });
socket.on("data", (data) => process.stdout.write(data));
socket.on("timeout", () => { process.stdout.write("timeout"); process.exit(0); });
socket.on("error", (error) => { process.stdout.write(error.code ?? "error"); process.exit(0); });`;

export const ADDRESSES = {
  pod: { 4: "10.244.1.5", 6: "fd10:0:0:1::5" },
  podCidrs: ["10.244.1.5/24", "fd10:0:0:1::5/64"],
  hostToOutside: { 4: "192.0.2.1", 6: "2001:db8::1" },
  hostToRemote: { 4: "10.244.2.1", 6: "fd10:0:0:2::1" },
  outside: { 4: "192.0.2.2", 6: "2001:db8::2" },
  remote: { 4: "10.244.2.9", 6: "fd10:0:0:2::9" },
} as const;

export type Peer = "outside" | "remote";

export class Topology {
  readonly host = TestNetns.create("fw-node", { loUp: true });
  readonly pod = TestNetns.create("fw-pod", { loUp: true });
  readonly outside = TestNetns.create("fw-outside", { loUp: true });
  readonly remote = TestNetns.create("fw-remote", { loUp: true });
  private readonly servers: ChildProcess[] = [];

  /** Wires the namespaces and starts the servers; on failure, removes what it made. */
  static async create(): Promise<Topology> {
    const topology = new Topology();
    try {
      topology.wire();
      await Promise.all([topology.serve(topology.outside), topology.serve(topology.remote)]);
      return topology;
    } catch (error: unknown) {
      topology.delete();
      throw error;
    }
  }

  private wire(): void {
    const { host, pod, outside, remote } = this;
    host.ip("link", "add", "cni0", "type", "bridge");
    host.ip("link", "add", "veth-pod", "type", "veth", "peer", "name", "eth0", "netns", pod.name);
    host.ip("link", "set", "veth-pod", "master", "cni0");
    host.ip("link", "add", "up0", "type", "veth", "peer", "name", "ext0", "netns", outside.name);
    host.ip("link", "add", "rp0", "type", "veth", "peer", "name", "eth0", "netns", remote.name);
    const address = (ns: TestNetns, dev: string, ...cidrs: string[]) => {
      for (const cidr of cidrs) ns.ip("address", "add", cidr, "dev", dev, ...(cidr.includes(":") ? ["nodad"] : []));
      ns.ip("link", "set", dev, "up");
    };
    address(host, "cni0", "10.244.1.1/24", "fd10:0:0:1::1/64");
    address(host, "veth-pod");
    address(host, "up0", "192.0.2.1/24", "2001:db8::1/64");
    address(host, "rp0", "10.244.2.1/24", "fd10:0:0:2::1/64");
    address(pod, "eth0", ...ADDRESSES.podCidrs);
    address(outside, "ext0", "192.0.2.2/24", "2001:db8::2/64");
    address(remote, "eth0", "10.244.2.9/24", "fd10:0:0:2::9/64");
    pod.ip("route", "add", "default", "via", "10.244.1.1");
    pod.ip("-6", "route", "add", "default", "via", "fd10:0:0:1::1");
    remote.ip("route", "add", "default", "via", "10.244.2.1");
    remote.ip("-6", "route", "add", "default", "via", "fd10:0:0:2::1");
    outside.ip("route", "add", "10.244.0.0/16", "via", "192.0.2.1");
    outside.ip("-6", "route", "add", "fd10::/56", "via", "2001:db8::1");
    for (const key of ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]) {
      const out = host.exec("sysctl", ["-qw", key]);
      if (out.status !== 0) throw new Error(`sysctl ${key}: ${out.stderr}`);
    }
  }

  private async serve(ns: TestNetns): Promise<void> {
    const server = spawn(
      "ip",
      ["netns", "exec", ns.name, "env", "-u", "NODE_EXTRA_CA_CERTS", process.execPath, "-e", SERVER],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.once("exit", (code) => reject(new Error(`server in ${ns.name} exited with ${code}`)));
      server.stdout?.once("data", () => resolve());
    });
  }

  /**
   * Connects from the pod to a peer and returns the source address the peer saw, or "timeout" /
   * an error code when the connection did not complete within `timeoutMs`.
   */
  seenBy(peer: Peer, family: 4 | 6, timeoutMs = 3000): string {
    const out = run(
      "ip",
      [
        "netns",
        "exec",
        this.pod.name,
        "env",
        "-u",
        "NODE_EXTRA_CA_CERTS",
        process.execPath,
        "-e",
        CLIENT,
        ADDRESSES[peer][family],
        String(timeoutMs),
      ],
      { timeout: timeoutMs + 10_000 },
    );
    if (out.status !== 0) throw new Error(`client failed: ${out.stderr}`);
    return out.stdout.trim();
  }

  delete(): void {
    for (const server of this.servers) if (server.exitCode === null) server.kill("SIGKILL");
    for (const ns of [this.pod, this.outside, this.remote, this.host]) ns.delete();
  }
}

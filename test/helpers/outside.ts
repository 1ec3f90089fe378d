// An "outside" network for masquerade tests: a namespace joined to a node's namespace by a veth, with
// no route back to the pods, so that only masqueraded traffic gets an answer; and a UDP exchange
// that reports the source address the outside saw.

import { spawn } from "node:child_process";

import { TestNetns } from "./netns";

export const OUTSIDE_ADDRESS = "192.0.2.2";
export const NODE_UPLINK_ADDRESS = "192.0.2.1";

/** A new outside namespace, linked to `node` (uplink0 on the node, wan0 outside). */
export function createOutside(node: TestNetns): TestNetns {
  const outside = TestNetns.create("outside", { loUp: true });
  node.ip("link", "add", "uplink0", "type", "veth", "peer", "name", "wan0", "netns", outside.name);
  node.ip("addr", "add", `${NODE_UPLINK_ADDRESS}/24`, "dev", "uplink0");
  node.ip("link", "set", "uplink0", "up");
  outside.ip("addr", "add", `${OUTSIDE_ADDRESS}/24`, "dev", "wan0");
  outside.ip("link", "set", "wan0", "up");
  return outside;
}

const SERVER = [
  "import socket",
  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
  "s.bind(('0.0.0.0', 9999))",
  "s.settimeout(5)",
  "data, peer = s.recvfrom(64)",
  "s.sendto(b'ok', peer)",
  "print(peer[0])",
].join("\n");

// Sends until the server answers (it may not be listening yet), for two seconds at most.
const CLIENT = [
  "import socket, sys",
  "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
  "s.settimeout(0.05)",
  "for _ in range(40):",
  "    s.sendto(b'hi', (sys.argv[1], 9999))",
  "    try:",
  "        s.recv(8)",
  "        break",
  "    except socket.timeout:",
  "        pass",
].join("\n");

/** The source address `outside` sees on a UDP datagram sent from `from`; "" when none arrived. */
export async function sourceSeenOutside(from: TestNetns, outside: TestNetns): Promise<string> {
  const server = spawn("ip", ["netns", "exec", outside.name, "python3", "-c", SERVER], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let seen = "";
  server.stdout.on("data", (chunk: Buffer) => (seen += chunk.toString()));
  const exited = new Promise((resolve) => server.on("close", resolve));
  from.exec("python3", ["-c", CLIENT, OUTSIDE_ADDRESS]);
  await exited;
  return seen.trim();
}

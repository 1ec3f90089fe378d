// One ICMP echo from inside a namespace, like `ping -c1 -W1`. The machines the tests run on do not
// all have iputils-ping, so the echo is sent by a short Python program (python3 is a build
// dependency) over a raw socket, for IPv4 and IPv6.

import type { TestNetns } from "./netns";

const PROGRAM = String.raw`
import os, select, socket, struct, sys, time
dst, timeout = sys.argv[1], float(sys.argv[2])
v6 = ":" in dst
ident = os.getpid() & 0xffff
def checksum(data):
    if len(data) % 2: data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    packet = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"tscni"
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"tscni"
    packet = struct.pack("!BBHHH", 8, 0, checksum(header), ident, 1) + b"tscni"
s.sendto(packet, (dst, 0))
deadline = time.time() + timeout
while True:
    left = deadline - time.time()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        sys.exit(1)
    data, source = s.recvfrom(2048)
    icmp = data if v6 else data[(data[0] & 0x0f) * 4:]
    kind, _, _, got_ident = struct.unpack("!BBHH", icmp[:6])
    if kind == (129 if v6 else 0) and got_ident == ident:
        sys.exit(0)
`;

/** True when `address` answers one echo request sent from `from` within `timeoutSeconds`. */
export function ping(from: TestNetns, address: string, timeoutSeconds = 1): boolean {
  return from.exec("python3", ["-c", PROGRAM, address, String(timeoutSeconds)]).status === 0;
}

#!/usr/bin/env python3
# ICMP echo for tests, where no ping binary is installed: icmp-echo.py DST [COUNT] [TIMEOUT_S] [SIZE]
# Exits 0 when every echo got its reply, 1 otherwise. IPv4 and IPv6; needs CAP_NET_RAW (root).
import os, select, socket, struct, sys, time

dst = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
size = int(sys.argv[4]) if len(sys.argv) > 4 else 56
v6 = ":" in dst
family, proto, request, reply = (
    (socket.AF_INET6, socket.IPPROTO_ICMPV6, 128, 129) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP, 8, 0)
)

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF

sock = socket.socket(family, socket.SOCK_RAW, proto)
if not v6:
    # Do not fragment: a too-small MTU on the path fails the echo instead of passing in pieces.
    sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
ident = os.getpid() & 0xFFFF
received = 0
for seq in range(count):
    payload = bytes(size)
    header = struct.pack("!BBHHH", request, 0, 0, ident, seq)
    # The kernel computes ICMPv6 checksums itself.
    csum = 0 if v6 else checksum(header + payload)
    try:
        sock.sendto(struct.pack("!BBHHH", request, 0, csum, ident, seq) + payload, (dst, 0))
    except OSError as error:
        print("send: %s" % error, file=sys.stderr)
        continue
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            print("no reply to seq %d from %s" % (seq, dst), file=sys.stderr)
            break
        packet = sock.recv(65535)
        icmp = packet if v6 else packet[(packet[0] & 0x0F) * 4 :]
        kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if kind == reply and rid == ident and rseq == seq:
            received += 1
            break
sys.exit(0 if received == count else 1)

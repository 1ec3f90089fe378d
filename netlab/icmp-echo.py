#!/usr/bin/env python3
# ICMP echo where no ping binary is installed (tests, demo): icmp-echo.py DST[,DST...] [COUNT] [TIMEOUT_S] [SIZE]
# Sends COUNT echo requests to every destination at once, waiting up to TIMEOUT_S for each round's
# replies; prints "<dst> <replies>/<count>" per destination and exits 0 when every echo got its
# reply, 1 otherwise. IPv4 and IPv6; needs CAP_NET_RAW (root). Several destinations in one process
# because starting Python costs more than the echo.
import os, select, socket, struct, sys, time

destinations = sys.argv[1].split(",")
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
size = int(sys.argv[4]) if len(sys.argv) > 4 else 56
V4 = (socket.AF_INET, socket.IPPROTO_ICMP, 8, 0)
V6 = (socket.AF_INET6, socket.IPPROTO_ICMPV6, 128, 129)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def open_socket(family, proto):
    sock = socket.socket(family, socket.SOCK_RAW, proto)
    if family == socket.AF_INET:
        # Do not fragment: a too-small MTU on the path fails the echo instead of passing in pieces.
        sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
    return sock


def canonical(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_ntop(family, socket.inet_pton(family, address.split("%")[0]))


destinations = [canonical(dst) for dst in destinations]
kinds = {dst: (V6 if ":" in dst else V4) for dst in destinations}
sockets = {kind: open_socket(kind[0], kind[1]) for kind in set(kinds.values())}
ident = os.getpid() & 0xFFFF
received = {dst: 0 for dst in destinations}
for seq in range(count):
    waiting = set()
    for dst in destinations:
        family, _, request, _ = kinds[dst]
        payload = bytes(size)
        header = struct.pack("!BBHHH", request, 0, 0, ident, seq)
        # The kernel computes ICMPv6 checksums itself.
        csum = 0 if family == socket.AF_INET6 else checksum(header + payload)
        try:
            sockets[kinds[dst]].sendto(struct.pack("!BBHHH", request, 0, csum, ident, seq) + payload, (dst, 0))
            waiting.add(dst)
        except OSError as error:
            print("send to %s: %s" % (dst, error), file=sys.stderr)
    deadline = time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        ready = select.select(list(sockets.values()), [], [], left)[0] if left > 0 else []
        if not ready:
            for dst in sorted(waiting):
                print("no reply to seq %d from %s" % (seq, dst), file=sys.stderr)
            break
        for sock in ready:
            packet, source = sock.recvfrom(65535)
            v6 = sock.family == socket.AF_INET6
            icmp = packet if v6 else packet[(packet[0] & 0x0F) * 4 :]
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
            sender = canonical(source[0])
            if kind == (V6 if v6 else V4)[3] and rid == ident and rseq == seq and sender in waiting:
                received[sender] += 1
                waiting.discard(sender)
for dst in destinations:
    print("%s %d/%d" % (dst, received[dst], count))
sys.exit(0 if all(n == count for n in received.values()) else 1)

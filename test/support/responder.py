#!/usr/bin/env python3
"""Lab responder: shows the test every ICMP / ICMPv6 echo request that reaches this namespace, and sends
whatever packets the test hands back. Run inside a lab namespace (the test sets icmp echo_ignore_all there,
so the kernel does not answer the echoes itself).

stdout, one line per echo request received:
  4 <hex of the whole IPv4 packet>
  6 <src> <dst> <hop limit> <traffic class> <hex of the ICMPv6 message>
stdin, one line per packet to send:
  4 <hex of a whole IPv4 packet>           sent through an IPPROTO_RAW socket (IP_HDRINCL: header as given)
  6 <destination> <hex of an ICMPv6 message>  sent through a raw ICMPv6 socket (the kernel sets the checksum)
"ready" is printed once the sockets are open; EOF on stdin ends the process.
"""
import os
import select
import socket
import sys


def main() -> None:
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s4.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

    out = sys.stdout
    out.write("ready\n")
    out.flush()
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    pending = b""
    while True:
        readable, _, _ = select.select([r4, r6, stdin], [], [])
        if r4 in readable:
            pkt = r4.recv(65535)
            ihl = (pkt[0] & 0x0F) * 4
            if len(pkt) >= ihl + 8 and pkt[9] == 1 and pkt[ihl] == 8:
                out.write("4 " + pkt.hex() + "\n")
                out.flush()
        if r6 in readable:
            msg, anc, _flags, addr = r6.recvmsg(65535, 1024)
            if len(msg) >= 8 and msg[0] == 128:
                dst, hop, tclass = "::", 64, 0
                for level, kind, data in anc:
                    if level != socket.IPPROTO_IPV6:
                        continue
                    if kind == socket.IPV6_PKTINFO:
                        dst = socket.inet_ntop(socket.AF_INET6, data[:16])
                    elif kind == socket.IPV6_HOPLIMIT:
                        hop = int.from_bytes(data[:4], sys.byteorder)
                    elif kind == socket.IPV6_TCLASS:
                        tclass = int.from_bytes(data[:4], sys.byteorder)
                out.write("6 %s %s %d %d %s\n" % (addr[0], dst, hop, tclass, msg.hex()))
                out.flush()
        if stdin in readable:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode().split()
                if not words:
                    continue
                try:
                    if words[0] == "4":
                        pkt = bytes.fromhex(words[1])
                        s4.sendto(pkt, (socket.inet_ntop(socket.AF_INET, pkt[16:20]), 0))
                    elif words[0] == "6":
                        r6.sendto(bytes.fromhex(words[2]), (words[1], 0))
                    else:
                        raise ValueError("unknown family " + words[0])
                    out.write("sent\n")
                except Exception as e:  # report, keep serving
                    out.write("error %s\n" % e)
                out.flush()


if __name__ == "__main__":
    main()

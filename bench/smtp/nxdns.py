#!/usr/bin/env python3
"""A stand-in for a local caching resolver whose cache holds only negative answers.

Answers every DNS query over UDP with NXDOMAIN at once (the question echoed, no records),
so that Gatehouse's inbound SPF and DMARC lookups cost one loopback round trip each, as
they would against a warm local resolver (unbound, systemd-resolved). run.sh points the
benchmark's private /etc/resolv.conf at it. On SIGTERM it prints how many queries it
answered, by type; on SIGUSR1 it prints the running count (a COUNT line) and goes on, so
run.sh can tell how many lookups each phase, and so each message, cost.

    nxdns.py --addr 127.53.0.1 --port 53
"""

import argparse
import collections
import signal
import socket
import struct
import sys

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV"}


def answer(query):
    """Returns (reply, qtype) for one query, or (None, None) if it is not one."""
    if len(query) < 12:
        return None, None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:  # a response, or not exactly one question
        return None, None
    # Walk the question's name to find where it ends.
    i = 12
    while i < len(query):
        n = query[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:  # no compression in a question
            return None, None
        i += 1 + n
    if i + 4 > len(query):
        return None, None
    qtype = struct.unpack("!H", query[i:i + 2])[0]
    question = query[12:i + 4]
    rd = flags & 0x0100
    # QR, the client's opcode (0) and RD, RA; RCODE 3 = NXDOMAIN.
    reply_flags = 0x8000 | rd | 0x0080 | 3
    return struct.pack("!HHHHHH", qid, reply_flags, 1, 0, 0, 0) + question, qtype


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="127.53.0.1")
    p.add_argument("--port", type=int, default=53)
    args = p.parse_args()

    counts = collections.Counter()

    def report():
        total = sum(counts.values())
        by_type = " ".join(f"{QTYPES.get(t, t)}={n}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        return f"queries={total} {by_type}".rstrip()

    def on_usr1(*_):
        print("COUNT", report(), flush=True)

    def on_term(*_):
        print("RESULT", report(), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.addr, args.port))
    print("READY", flush=True)
    while True:
        try:
            data, peer = s.recvfrom(4096)
        except InterruptedError:
            continue
        reply, qtype = answer(data)
        if reply is None:
            continue
        counts[qtype] += 1
        s.sendto(reply, peer)


if __name__ == "__main__":
    main()

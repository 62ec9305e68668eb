#!/usr/bin/env python3
"""IMAP APPEND load generator for bench/dovecot/run.sh, standard library only.

The client is Python's imaplib, so the IMAP side of the comparison is not code written
for Gatehouse. It appends TOTAL distinct ~4 KB messages (byte for byte the same as
message4K in bench/store_test.go) into INBOX over SENDERS concurrent connections, each
taking the next message from a shared counter as the Go benchmark's senders do. Logins
and message generation happen before the clock starts; the clock stops when the last
APPEND has been answered OK. It then checks with STATUS (on a fresh connection) that the
mailbox holds exactly TOTAL messages, and prints one line:

  RESULT senders=S total=N seconds=T rate=R status_messages=M client_cpu=C

client_cpu is the client's own CPU time over the timed window, as a fraction of one core,
to show whether the Python client itself was the bottleneck.
"""

import argparse
import imaplib
import os
import re
import sys
import threading
import time


def message4k(n):
    """The same bytes as message4K(n) in bench/store_test.go."""
    head = (
        "From: Bench Sender <sender@example.net>\r\nTo: alice@example.org\r\n"
        "Subject: Benchmark message %d\r\nMessage-ID: <bench-%d@example.net>\r\n"
        "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" % (n, n)
    )
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    b = bytearray(head.encode("ascii"))
    while len(b) < 4096 - len(line):
        b += line
    return bytes(b)


def connect(host, port, user, password):
    c = imaplib.IMAP4(host, port)
    typ, data = c.login(user, password)
    if typ != "OK":
        raise RuntimeError("LOGIN %s: %r" % (typ, data))
    return c


def status_messages(host, port, user, password):
    c = connect(host, port, user, password)
    try:
        typ, data = c.status("INBOX", "(MESSAGES)")
        if typ != "OK":
            raise RuntimeError("STATUS %s: %r" % (typ, data))
        m = re.search(rb"MESSAGES (\d+)", data[0])
        if not m:
            raise RuntimeError("STATUS reply without MESSAGES: %r" % (data,))
        return int(m.group(1))
    finally:
        c.logout()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--senders", type=int, default=1)
    ap.add_argument("--total", type=int, default=10000)
    ap.add_argument("--first", type=int, default=0, help="n of the first message")
    args = ap.parse_args()

    msgs = [message4k(args.first + j) for j in range(args.total)]
    conns = [connect(args.host, args.port, args.user, args.password) for _ in range(args.senders)]
    before = status_messages(args.host, args.port, args.user, args.password)
    if before != 0:
        sys.exit("append.py: INBOX of %s already holds %d messages; want a fresh mailbox" % (args.user, before))

    lock = threading.Lock()
    nxt = [0]
    errors = []
    start_gate = threading.Barrier(args.senders + 1)

    def sender(c):
        start_gate.wait()
        while True:
            with lock:
                j = nxt[0]
                nxt[0] += 1
            if j >= args.total or errors:
                return
            try:
                typ, data = c.append("INBOX", None, None, msgs[j])
                if typ != "OK":
                    raise RuntimeError("APPEND of message %d: %s %r" % (j, typ, data))
            except Exception as e:  # imaplib raises on BAD and on a dropped connection
                errors.append(e)
                return

    threads = [threading.Thread(target=sender, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    cpu0 = os.times()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu1 = os.times()
    for c in conns:
        try:
            c.logout()
        except Exception:
            pass
    if errors:
        sys.exit("append.py: %d sender(s) failed, first: %s" % (len(errors), errors[0]))

    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    got = status_messages(args.host, args.port, args.user, args.password)
    print("RESULT senders=%d total=%d seconds=%.3f rate=%.1f status_messages=%d client_cpu=%.2f"
          % (args.senders, args.total, elapsed, args.total / elapsed, got, cpu / elapsed))
    if got != args.total:
        sys.exit("append.py: STATUS INBOX says %d messages after %d APPENDs" % (got, args.total))


if __name__ == "__main__":
    main()

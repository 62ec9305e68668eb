#!/usr/bin/env python3
"""Submits TOTAL distinct messages of about SIZE bytes over SMTP submission with AUTH.

SESSIONS threads, each with one connection (EHLO, AUTH, then MAIL/RCPT/DATA per message),
share the messages. Used by run.sh to fill Gatehouse's outbound queue; it prints

    RESULT sent=N first=EPOCH last=EPOCH

where first is when the first message got its 250 and last when the last one did.
"""

import argparse
import smtplib
import sys
import threading
import time


def message(i, size, sender, rcpt):
    head = (
        f"From: Bench <{sender}>\r\n"
        f"To: <{rcpt}>\r\n"
        f"Subject: outbound benchmark message {i}\r\n"
        f"Message-ID: <bench-{i}-{time.time_ns()}@example.org>\r\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    )
    line = f"message {i:06d} la de da de da de da de da de da de da de da de da de da\r\n"
    body = []
    n = len(head)
    while n < size:
        body.append(line)
        n += len(line)
    return (head + "".join(body)).encode("ascii")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--total", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--size", type=int, default=4096)
    args = p.parse_args()
    with open(args.password_file) as f:
        password = f.read().strip()

    lock = threading.Lock()
    state = {"next": 0, "sent": 0, "first": None, "last": None, "errors": []}

    def take():
        with lock:
            if state["next"] >= args.total:
                return None
            state["next"] += 1
            return state["next"] - 1

    def worker():
        try:
            s = smtplib.SMTP("127.0.0.1", args.port, local_hostname="client.example.org", timeout=300)
            s.ehlo()
            s.login(args.user, password)
            while (i := take()) is not None:
                s.sendmail(args.user, [args.rcpt], message(i, args.size, args.user, args.rcpt))
                now = time.time()
                with lock:
                    state["sent"] += 1
                    if state["first"] is None:
                        state["first"] = now
                    state["last"] = now
            s.quit()
        except Exception as e:  # report, the main thread fails the run
            with lock:
                state["errors"].append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in state["errors"][:5]:
        print("ERROR", e, file=sys.stderr)
    print(f"RESULT sent={state['sent']} first={state['first'] or 0:.6f} last={state['last'] or 0:.6f}", flush=True)
    sys.exit(1 if state["errors"] or state["sent"] != args.total else 0)


if __name__ == "__main__":
    main()

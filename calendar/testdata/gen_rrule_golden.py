#!/usr/bin/python3
"""Generates rrule_golden.jsonl, the recurrence oracle of the calendar tests.

Every case is a DTSTART (floating, or local time in an IANA zone), an RRULE and
the occurrences Python's dateutil.rrule computes for it: the first ones
("first"), and those inside a window ("window"), as wall-clock times; for zoned
cases also as UTC instants where the wall time exists (not in a DST gap).

Run with Debian's python3-dateutil:  /usr/bin/python3 gen_rrule_golden.py
The Go test (recur_golden_test.go) reads the output; it needs no Python.
"""
import datetime
import json
import random
import sys

import dateutil
from dateutil import rrule, tz

rnd = random.Random(20261125)

ZONES = ["", "America/New_York", "Europe/Berlin", "Australia/Sydney",
         "America/Sao_Paulo", "Europe/London", "Pacific/Auckland", "Asia/Kolkata"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def rand_dtstart():
    # Near DST changes often: March, April, October, November.
    y = rnd.choice([1999, 2012, 2016, 2018, 2019, 2020, 2023, 2024, 2025])
    m = rnd.choice([1, 2, 3, 3, 4, 6, 9, 10, 10, 11, 12])
    d = rnd.randint(1, 28)
    h = rnd.choice([0, 1, 2, 2, 3, 9, 12, 17, 23])
    mi = rnd.choice([0, 0, 15, 30])
    return datetime.datetime(y, m, d, h, mi, 0)


def rand_rule(dt):
    freq = rnd.choices(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY"],
                       weights=[5, 6, 6, 5, 1, 1])[0]
    parts = ["FREQ=" + freq]
    if rnd.random() < 0.4:
        parts.append("INTERVAL=%d" % rnd.choice([2, 3, 4, 5, 7, 10]))
    if freq in ("YEARLY", "MONTHLY"):
        r = rnd.random()
        if r < 0.25:
            parts.append("BYMONTHDAY=" + ",".join(str(x) for x in rnd.sample([1, 5, 10, 15, 28, 29, 30, 31, -1, -2], rnd.randint(1, 2))))
        elif r < 0.55:
            n = rnd.choice([1, 2, 3, 4, -1, -2])
            parts.append("BYDAY=%d%s" % (n, rnd.choice(DAYS)))
        elif r < 0.7:
            parts.append("BYDAY=" + ",".join(rnd.sample(DAYS, rnd.randint(1, 5))))
            if rnd.random() < 0.6:
                parts.append("BYSETPOS=%d" % rnd.choice([1, 2, -1, -2]))
        if freq == "YEARLY" and rnd.random() < 0.5:
            parts.append("BYMONTH=" + ",".join(str(x) for x in sorted(rnd.sample(range(1, 13), rnd.randint(1, 3)))))
        if freq == "YEARLY" and rnd.random() < 0.08:
            parts = ["FREQ=YEARLY", "BYYEARDAY=" + ",".join(str(x) for x in rnd.sample([1, 100, 200, 365, -1, -30], 2))]
        if freq == "YEARLY" and rnd.random() < 0.08:
            parts = ["FREQ=YEARLY", "BYWEEKNO=" + ",".join(str(x) for x in rnd.sample([1, 2, 20, 52, 53, -1], 2)), "BYDAY=" + rnd.choice(DAYS)]
    elif freq == "WEEKLY":
        if rnd.random() < 0.7:
            parts.append("BYDAY=" + ",".join(rnd.sample(DAYS, rnd.randint(1, 5))))
        if rnd.random() < 0.3:
            parts.append("WKST=" + rnd.choice(DAYS))
    elif freq == "DAILY":
        r = rnd.random()
        if r < 0.3:
            parts.append("BYDAY=" + ",".join(rnd.sample(DAYS, rnd.randint(1, 5))))
        elif r < 0.4:
            parts.append("BYMONTH=" + ",".join(str(x) for x in sorted(rnd.sample(range(1, 13), 2))))
        elif r < 0.5:
            parts.append("BYHOUR=%d,%d" % tuple(sorted(rnd.sample(range(24), 2))))
    elif freq == "HOURLY":
        parts.append("BYHOUR=" + ",".join(str(x) for x in sorted(rnd.sample(range(24), 3))))
    elif freq == "MINUTELY":
        parts.append("INTERVAL=%d" % rnd.choice([15, 30, 45, 90]))
        parts.append("BYHOUR=%d" % rnd.randint(0, 23))
    r = rnd.random()
    if r < 0.3:
        parts.append("COUNT=%d" % rnd.randint(1, 40))
    elif r < 0.55:
        return parts, "until"
    return parts, None


def fmt(d):
    return d.strftime("%Y%m%dT%H%M%S")


def main():
    out = []
    n = 0
    while len(out) < 400:
        n += 1
        zone = rnd.choice(ZONES)
        dt = rand_dtstart()
        parts, until = rand_rule(dt)
        tzinfo = tz.gettz(zone) if zone else None
        start = dt.replace(tzinfo=tzinfo)
        if until:
            u = dt + datetime.timedelta(days=rnd.choice([3, 20, 90, 400, 1200, 4000]))
            if tzinfo is not None:
                parts.append("UNTIL=" + u.strftime("%Y%m%dT%H%M%SZ"))
            else:
                parts.append("UNTIL=" + fmt(u))
        text = ";".join(parts)
        try:
            rule = rrule.rrulestr(text, dtstart=start)
        except Exception as e:  # noqa: BLE001 - a rule dateutil refuses is not a case
            continue
        first = []
        ws = dt + datetime.timedelta(days=rnd.choice([30, 400, 1500, 3000]))
        we = ws + datetime.timedelta(days=rnd.choice([7, 31, 90]))
        try:
            for occ in rule:
                first.append(occ)
                if len(first) >= 40:
                    break
            window = rule.between(ws.replace(tzinfo=tzinfo), we.replace(tzinfo=tzinfo), inc=True)
        except ValueError:  # dateutil gives up on rules with no instance
            continue
        if len(window) > 400:
            continue
        case = {
            "id": len(out) + 1,
            "tzid": zone,
            "dtstart": fmt(dt),
            "rrule": text,
            "first": [fmt(x) for x in first],
            "window_start": fmt(ws),
            "window_end": fmt(we),
            "window": [fmt(x) for x in window],
        }
        # dateutil reads only the transitions listed in the system's TZif files,
        # which end in 2037, so instants are compared before 2037 only.
        if tzinfo is not None:
            case["first_utc"] = [
                (x.astimezone(tz.UTC).strftime("%Y%m%dT%H%M%SZ")
                 if x.year < 2037 and tz.datetime_exists(x) and not tz.datetime_ambiguous(x) else "")
                for x in first
            ]
        out.append(case)
    with open("rrule_golden.jsonl", "w") as f:
        f.write(json.dumps({"generator": "gen_rrule_golden.py", "dateutil": dateutil.__version__,
                            "python": sys.version.split()[0]}) + "\n")
        for c in out:
            f.write(json.dumps(c, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()

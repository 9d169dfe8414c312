#!/usr/bin/python3
"""`lockboxctl audit` filters (--since, --until, --event, --actor, --engineer,
--host, --request) and its --csv output, against a real systemd-journald.

Runs in its own mount + network namespace (lockbox_fixture); journald's
directories are tmpfs there, so nothing reaches the host's journal.
Usage: test_audit_filters.py LOCKBOXCTL SEND_AUDIT_RECORD
"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid

import lockbox_fixture as fx
from lockbox_audit_sender import send_audit

# A value a spreadsheet would run as a formula, with every character RFC 4180
# must quote (comma, quote, CR, LF).
FORMULA = '=HYPERLINK("http://evil.example/?x=1,2","click")\r\nsecond line'


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what, flush=True)


def rfc3339(usec):
    secs, frac = divmod(usec, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:06d}Z"


def csv_value(value):
    """What csv_text.h promises for one value: controls other than tab, CR and LF
    become '?', and a leading = + - @ tab or CR gets a single quote."""
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "?", value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def main():
    fx.enter_namespace()
    ctl, sender = sys.argv[1], sys.argv[2]
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    with fx.Sandbox() as sb:
        sb.start_journald()

        def send(*args, **kw):
            send_audit(sender, *args, **kw)

        # index: the entry's place in the full trail below.
        send("lockbox-approvald", "db01", "request-created", "eve", r1, "eve")                    # 0
        send("lockbox-approvald", "db01", "manager-approved", "mallory", r1, "eve")               # 1
        send("lockbox-approvald", "web02", "request-created", "bob", r2, "bob")                   # 2
        send("lockboxd", "db01", "grant-issued", "lockbox-approvald", r1, "eve")                  # 3
        send("pam_lockbox", "db01", "session-opened", "eve", r1, "eve", fields=["SESSION_ID=c1"])  # 4
        send("pam_lockbox", "web02", "session-opened", "bob", r2, "bob", fields=["SESSION_ID=c2"])  # 5
        send("lockbox-approvald", "db01", "approver-approved", "carol", r1, "eve", ticket="@SUM(1+1)",
             fields=["REASON=" + FORMULA, "COMMENT=-2+3"], message="carol approved\n\x1b[2Jfor real")  # 6
        send("lockboxd", "db01", "session-killed", "lockboxd", r1, "eve", fields=["DELAY_MS=180"])  # 7
        send("lockboxd", "web02", "grant-revoked", "evelyn")                                      # 8
        send("lockboxd", "web02", "grant-revoked", "eve smith")                                   # 9
        # Forged by an unprivileged user: no filter may bring it back.
        send("lockboxd", "db01", "session-killed", "eve", r1, "eve", user="65534")
        sb.journal(match={"LOCKBOX_HOST": "web02"}, expect=4)
        sb.journal(match={"LOCKBOX_ACTOR": "eve"}, expect=3)

        r = run([ctl, "audit", "--json"])
        check(r.returncode == 0, f"audit --json exits 0 ({r.stderr.strip()})")
        everything = json.loads(r.stdout)
        check(len(everything) == 10 and not any(e["LOCKBOX_EVENT"] == "session-killed" and e["LOCKBOX_ACTOR"] == "eve"
                                                for e in everything),
              "the full trail has the ten genuine entries, the forged one left out")
        stamps = [e["timestamp_usec"] for e in everything]
        check(stamps == sorted(stamps) and len(set(stamps)) == 10, "entries ascend with distinct times")

        def audit(*args, expect_rc=0):
            r = run([ctl, "audit", "--json", *args])
            check(r.returncode == expect_rc, f"audit {' '.join(args)} exits {expect_rc} ({r.stderr.strip()})")
            return [everything.index(e) for e in json.loads(r.stdout)] if expect_rc == 0 else r

        cases = [
            (["--event", "session-opened"], [4, 5]),
            (["--event", "grant-revoked"], [8, 9]),
            (["--actor", "eve"], [0, 4]),  # exact: not "evelyn", not "eve smith", not the forger
            (["--actor", "eve smith"], [9]),
            (["--actor", "ev"], []),
            (["--engineer", "bob"], [2, 5]),
            (["--engineer", "eve"], [0, 1, 3, 4, 6, 7]),
            (["--host", "web02"], [2, 5, 8, 9]),
            (["--host", "db"], []),
            (["--request", r2], [2, 5]),
            (["--request", r1, "--event", "session-opened"], [4]),
            (["--host", "db01", "--engineer", "eve", "--actor", "carol"], [6]),
            (["--host", "web02", "--event", "session-opened", "--actor", "bob"], [5]),
            (["--event", "grant-revoked", "--host", "db01"], []),
            (["--event", "session-killed", "--actor", "eve"], []),
        ]
        for args, want in cases:
            got = audit(*args)
            check(got == want, f"audit {' '.join(args)} gives entries {want} (got {got})")

        # A journal collected elsewhere (what systemd-journal-remote writes):
        # the same trail read from a copy of the files, with the same filters
        # and the same trust rule; an empty directory holds no trail.
        import shutil
        collected = f"{sb.dir}/collected"
        shutil.copytree("/run/log/journal", collected)
        r = run([ctl, "audit", "--json", "--directory", collected])
        check(r.returncode == 0 and json.loads(r.stdout) == everything,
              f"audit --directory reads the same ten entries from a copy ({r.stderr.strip()})")
        r = run([ctl, "audit", "--json", "--directory", collected, "--host", "web02"])
        check([everything.index(e) for e in json.loads(r.stdout)] == [2, 5, 8, 9], "filters apply to it too")
        os.makedirs(f"{sb.dir}/empty")
        r = run([ctl, "audit", "--json", "--directory", f"{sb.dir}/empty"])
        check(r.returncode == 0 and json.loads(r.stdout) == [], "an empty directory has no trail")
        r = run([ctl, "audit", "--directory", f"{sb.dir}/missing"])
        check(r.returncode == 2, "a directory that does not exist is a usage error")

        # Bounds are inclusive at both ends, to the microsecond.
        check(audit("--since", rfc3339(stamps[4]), "--until", rfc3339(stamps[6])) == [4, 5, 6],
              "--since and --until keep the entries at both bounds")
        check(audit("--since", rfc3339(stamps[4] + 1), "--until", rfc3339(stamps[6] - 1)) == [5],
              "one microsecond inside the bounds leaves the bound entries out")
        check(audit("--until", rfc3339(stamps[1])) == [0, 1], "--until alone stops at its time")
        check(audit("--since", rfc3339(stamps[8])) == [8, 9], "--since alone starts at its time")
        check(audit("--since", rfc3339(stamps[2]), "--until", rfc3339(stamps[7]), "--host", "web02") == [2, 5],
              "a time window combines with a field filter")
        check(audit("--since", "2h", "--until", "2099-01-01T00:00:00Z") == list(range(10)),
              "--since 2h and a future --until keep everything just written")
        check(audit("--since", "-2h") == list(range(10)), "--since -2h means the same as 2h")
        check(audit("--until", "1h") == [] and audit("--until", "-1h") == [], "--until an hour ago shows nothing")

        r = run([ctl, "audit", "--event", "session-opened"])
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == 3 and all("session-opened" in l for l in lines[1:]),
              "the table shows the filtered entries only")

        # CSV: RFC 4180, and the same rows and values as --json.
        r = subprocess.run([ctl, "audit", "--csv"], capture_output=True, timeout=30)
        check(r.returncode == 0, f"audit --csv exits 0 ({r.stderr!r})")
        raw = r.stdout
        check(raw.endswith(b"\r\n") and b"\x1b" not in raw, "CSV records end in CRLF; no escape byte gets through")
        check(raw.count(b"\r\n") == 1 + len(everything) + 1 and raw.replace(b"\r\n", b"").count(b"\n") == 1
              and b"\r" not in raw.replace(b"\r\n", b""),
              "CRLF ends the header and each record; the only other CRLF and LF are inside quoted values")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True))
        header, body = rows[0], rows[1:]
        check(header[:5] == ["timestamp", "timestamp_usec", "LOCKBOX_EVENT", "LOCKBOX_ACTOR", "LOCKBOX_HOST"],
              f"CSV header starts with the fixed columns: {header[:5]}")
        check(len(body) == len(everything) and all(len(row) == len(header) for row in body),
              "one CSV row per JSON entry, every row as wide as the header")
        keys = set().union(*everything)
        check(set(header) == keys, f"CSV columns are exactly the JSON keys (extra {set(header) - keys}, "
                                   f"missing {keys - set(header)})")
        for entry, row in zip(everything, body):
            got = dict(zip(header, row))
            want = {k: csv_value(str(entry[k])) if k in entry else "" for k in header}
            check(got == want, f"CSV row of {entry['LOCKBOX_EVENT']} by {entry['LOCKBOX_ACTOR']} matches JSON")
        carol = dict(zip(header, body[6]))
        check(carol["LOCKBOX_REASON"] == "'" + FORMULA, "comma, quote, CRLF and a leading '=' round-trip, quoted")
        check(carol["LOCKBOX_TICKET"] == "'@SUM(1+1)" and carol["LOCKBOX_COMMENT"] == "'-2+3",
              "leading '@' and '-' are neutralized too")
        check(carol["MESSAGE"] == "carol approved\n?[2Jfor real", "the escape byte in a value becomes '?'")
        check(b'"\'=HYPERLINK(""http://evil.example/?x=1,2"",""click"")\r\nsecond line"' in raw,
              "the formula value is one quoted field with its quotes doubled")

        r = subprocess.run([ctl, "audit", "--csv", "--host", "web02", "--event", "session-opened"],
                           capture_output=True, timeout=30)
        rows = list(csv.reader(io.StringIO(r.stdout.decode("utf-8"), newline="")))
        check(r.returncode == 0 and len(rows) == 2 and rows[1][3] == "bob", "filters apply to --csv as well")

        # Arguments that are refused, with nothing on stdout.
        refused = [
            (["--event", "session-open"], "not an audit event; valid events: request-created, "),
            (["--event", "Session-Opened"], "nss-cache-failed"),
            (["--actor", "eve\x1b[2J"], "printable"),
            (["--engineer", "e" * 257], "at most 256 bytes"),
            (["--host", "db01\n"], "printable"),
            (["--host", ""], "must not be empty"),
            (["--since", "yesterday"], "--since"),
            (["--until", "5"], "--until"),
            (["--since", "1h", "--until", "2h"], "is before --since"),
            (["--json", "--csv"], "excludes"),
            (["--request", "not-a-uuid"], "request id"),
        ]
        for args, message in refused:
            r = run([ctl, "audit"] + args)
            check(r.returncode == 2 and r.stdout == "" and message in r.stderr and "\x1b" not in r.stderr,
                  f"audit {' '.join(args)!r} is a usage error saying {message!r} ({r.stderr.strip()[:120]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

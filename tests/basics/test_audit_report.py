#!/usr/bin/python3
"""`lockboxctl audit report`: the per-request summary, as a table, --json and
--csv, from audit records written to a real systemd-journald.

Runs in its own mount + network namespace (lockbox_fixture); journald's
directories are tmpfs there, so nothing reaches the host's journal.
Usage: test_audit_report.py LOCKBOXCTL SEND_AUDIT_RECORD
"""
import csv
import io
import json
import subprocess
import sys
import time
import uuid

import lockbox_fixture as fx
from lockbox_audit_sender import send_audit

REASON = "disk full\x1b[2J\r\nreboot, \"now\""  # an escape, CRLF, a comma and quotes from the requester
REASON_TABLE = "disk full [2J  reboot, \"now\""    # printable(): each control byte a space


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what, flush=True)


def rfc3339(usec):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(usec // 1_000_000))


def duration(secs):
    """format_duration (time_format.h)."""
    if secs == 0:
        return "0s"
    out = ""
    if secs >= 3600:
        out += f"{secs // 3600}h"
    if secs % 3600 >= 60:
        out += f"{secs % 3600 // 60}m"
    if secs % 60:
        out += f"{secs % 60}s"
    return out


def main():
    fx.enter_namespace()
    ctl, sender = sys.argv[1], sys.argv[2]
    r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))
    nbf, exp = "2026-12-03T10:00:00Z", "2026-12-03T11:30:00Z"
    with fx.Sandbox() as sb:
        sb.start_journald()

        def send(ident, host, event, actor, request, engineer, **kw):
            send_audit(sender, ident, host, event, actor, request, engineer, **kw)

        A, D, P = "lockbox-approvald", "lockboxd", "pam_lockbox"
        send(A, "ctl", "request-created", "eve", r1, "eve", ticket="INC-7",
             fields=["REASON=" + REASON, "ACCESS=admin", "DURATION=7200", "HOSTS=db01 web02"])       # 0
        send(A, "ctl", "request-created", "bob", r2, "bob", ticket="=cmd|' /C calc'!A0",
             fields=["REASON=look", "DURATION=600", "HOSTS=web02"])                                  # 1
        send(A, "ctl", "manager-approved", "mallory", r1, "eve", fields=["DURATION=5400"])          # 2
        send(A, "ctl", "request-denied", "mallory", r2, "bob", fields=["REASON=no ticket"])         # 3
        send(A, "ctl", "approver-approved", "carol", r1, "eve", fields=["ACCESS=read"])             # 4
        send(A, "ctl", "grant-issued", "carol", r1, "eve", fields=["NBF=" + nbf, "EXP=" + exp])     # 5
        send(D, "db01", "grant-installed", "lockboxd", r1, "eve")                                   # 6
        send(D, "db01", "session-opened", "eve", r1, "eve",
             fields=["SESSION_ID=c1", "RHOST=10.0.0.5"])                                            # 7
        send(D, "web02", "session-opened", "eve", r1, "eve", fields=["SESSION_ID=c1"])              # 8
        time.sleep(1.1)  # a session of at least a second
        send(D, "db01", "session-closed", "eve", r1, "eve", fields=["SESSION_ID=c1"])               # 9
        send(A, "ctl", "request-created", "dave", r3, "dave", fields=["REASON=later", "DURATION=60"])  # 10
        send(D, "web02", "session-killed", "lockboxd", r1, "eve", fields=["SESSION_ID=c1", "DELAY_MS=12"])  # 11
        send(A, "ctl", "grant-revoked", "carol", r1, "eve", fields=["REASON=done"])                 # 12
        send(D, "db01", "grant-revoked", "lockboxd", r1, "eve", fields=["REASON=done"])             # 13
        send(D, "db01", "trusted-keys-changed", "lockboxd", None, None)                              # 14: no request
        send(P, "db01", "session-killed", "eve", r1, "eve", user="65534")  # forged: not counted
        sb.journal(match={"LOCKBOX_HOST": "db01"}, expect=6)

        r = run([ctl, "audit", "--json"])
        check(r.returncode == 0, f"audit --json exits 0 ({r.stderr.strip()})")
        trail = json.loads(r.stdout)
        check(len(trail) == 15, f"the trail holds the 15 genuine entries (got {len(trail)})")
        t = [e["timestamp_usec"] for e in trail]
        c1_db = (t[9] - t[7]) // 1_000_000
        c1_web = (t[11] - t[8]) // 1_000_000
        check(c1_db >= 1, "the closed session lasted a second or more")

        want = [
            {"request_id": r1, "tenant": "contoso", "ticket": "INC-7", "engineer": "eve", "reason": REASON,
             "filed_by": "eve", "filed": rfc3339(t[0]), "requested_duration_sec": 7200,
             "manager": "mallory", "manager_approved": rfc3339(t[2]),
             "approver": "carol", "approver_approved": rfc3339(t[4]), "access": "read",
             "window_start": nbf, "window_end": exp, "window_duration_sec": 5400,
             "hosts": ["db01", "web02"], "session_count": 2, "session_total_sec": c1_db + c1_web,
             "sessions": [
                 {"id": "c1", "host": "db01", "from": "10.0.0.5", "opened": rfc3339(t[7]), "ended": rfc3339(t[9]),
                  "end": "closed", "duration_sec": c1_db, "recording": ""},
                 {"id": "c1", "host": "web02", "from": "", "opened": rfc3339(t[8]), "ended": rfc3339(t[11]),
                  "end": "killed", "duration_sec": c1_web, "recording": ""}],
             "kills": 1, "ended": "revoked", "ended_by": "carol", "ended_at": rfc3339(t[12]), "end_reason": "done"},
            {"request_id": r2, "tenant": "contoso", "ticket": "=cmd|' /C calc'!A0", "engineer": "bob",
             "reason": "look", "filed_by": "bob", "filed": rfc3339(t[1]), "requested_duration_sec": 600,
             "manager": "", "manager_approved": None, "approver": "", "approver_approved": None, "access": "",
             "window_start": None, "window_end": None, "window_duration_sec": 0, "hosts": ["web02"],
             "session_count": 0, "session_total_sec": 0, "sessions": [], "kills": 0,
             "ended": "denied", "ended_by": "mallory", "ended_at": rfc3339(t[3]), "end_reason": "no ticket"},
            {"request_id": r3, "tenant": "contoso", "ticket": "INC-7", "engineer": "dave", "reason": "later",
             "filed_by": "dave", "filed": rfc3339(t[10]), "requested_duration_sec": 60,
             "manager": "", "manager_approved": None, "approver": "", "approver_approved": None, "access": "",
             "window_start": None, "window_end": None, "window_duration_sec": 0, "hosts": [],
             "session_count": 0, "session_total_sec": 0, "sessions": [], "kills": 0,
             "ended": "", "ended_by": "", "ended_at": None, "end_reason": ""},
        ]
        r = run([ctl, "audit", "report", "--json"])
        check(r.returncode == 0, f"audit report --json exits 0 ({r.stderr.strip()})")
        got = json.loads(r.stdout)
        for g, w in zip(got, want):
            check(g == w, f"JSON summary of the {w['ended'] or 'open'} request is exact\n got {g}\nwant {w}")
        check(len(got) == 3, "one summary per request, in the order of their first record")

        # The table: each requester value printable, every field in its place.
        r = run([ctl, "audit", "report"])
        check(r.returncode == 0 and "\x1b" not in r.stdout and "\r" not in r.stdout,
              "the table exits 0 with no control byte from a requester")
        w1 = (f"request {r1}\n"
              "  ticket     INC-7\n"
              "  engineer   eve\n"
              f"  reason     {REASON_TABLE}\n"
              f"  filed      {rfc3339(t[0])} by eve\n"
              f"  manager    {rfc3339(t[2])} by mallory\n"
              f"  approver   {rfc3339(t[4])} by carol\n"
              "  access     read\n"
              f"  window     {nbf} to {exp} (1h30m)\n"
              "  hosts      db01 web02\n"
              f"  sessions   2, {duration(c1_db + c1_web)} in all\n"
              f"             c1 on db01 from 10.0.0.5, {rfc3339(t[7])} to {rfc3339(t[9])} ({duration(c1_db)}, closed)\n"
              f"             c1 on web02, {rfc3339(t[8])} to {rfc3339(t[11])} ({duration(c1_web)}, killed)\n"
              "  kills      1\n"
              f"  ended      revoked by carol at {rfc3339(t[12])}: done\n\n")
        w2 = (f"request {r2}\n"
              "  ticket     =cmd|' /C calc'!A0\n"
              "  engineer   bob\n"
              "  reason     look\n"
              f"  filed      {rfc3339(t[1])} by bob\n"
              "  manager    -\n"
              "  approver   -\n"
              "  access     -\n"
              "  window     -\n"
              "  hosts      web02\n"
              "  sessions   0\n"
              "  kills      0\n"
              f"  ended      denied by mallory at {rfc3339(t[3])}: no ticket\n\n")
        check(r.stdout.startswith(w1 + w2), "the table's first two blocks are exact" + ("" if r.stdout.startswith(w1 + w2) else ":\n" + r.stdout))
        check(r.stdout.endswith("  ended      -\n\n3 requests\n"), "the open request ends in '-', then the count")

        # CSV: RFC 4180, one row per request, the JSON values; formulas neutralised.
        r = subprocess.run([ctl, "audit", "report", "--csv"], capture_output=True, timeout=60)
        check(r.returncode == 0 and b"\x1b" not in r.stdout, "audit report --csv exits 0, no escape byte")
        rows = list(csv.reader(io.StringIO(r.stdout.decode("utf-8"), newline=""), strict=True))
        header, body = rows[0], rows[1:]
        check(header == list(want[0].keys()), f"CSV columns are the JSON keys in order: {header}")
        check(len(body) == 3 and all(len(row) == len(header) for row in body), "three rows as wide as the header")
        row1, row2 = dict(zip(header, body[0])), dict(zip(header, body[1]))
        check(row1["reason"] == "disk full?[2J\r\nreboot, \"now\"", "the reason keeps CRLF, comma and quotes; "
                                                                   "the escape byte becomes '?'")
        check(row2["ticket"] == "'=cmd|' /C calc'!A0", "a ticket that starts a formula gets a leading quote")
        check(row1["hosts"] == "db01 web02" and row1["session_count"] == "2" and row1["kills"] == "1"
              and row1["window_duration_sec"] == "5400" and row2["manager_approved"] == "",
              "lists joined by spaces, numbers as text, missing times empty")
        check(row1["sessions"] == (f"c1 on db01 from 10.0.0.5, {rfc3339(t[7])} to {rfc3339(t[9])} "
                                   f"({duration(c1_db)}, closed); c1 on web02, {rfc3339(t[8])} to {rfc3339(t[11])} "
                                   f"({duration(c1_web)}, killed)"), f"sessions in one cell: {row1['sessions']}")

        # The window: only requests with a record inside it.
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t[10] // 1_000_000)) + f".{t[10] % 1_000_000:06d}Z"
        r = run([ctl, "audit", "report", "--json", "--since", at, "--until", at])
        got = json.loads(r.stdout) if r.returncode == 0 else None
        check(got is not None and [g["request_id"] for g in got] == [r3],
              "--since/--until at one record's time report that record's request only")
        for args, message in [(["--since", "yesterday"], "--since"), (["--json", "--csv"], "excludes"),
                              (["--since", "1h", "--until", "2h"], "is before --since")]:
            r = run([ctl, "audit", "report"] + args)
            check(r.returncode == 2 and r.stdout == "" and message in r.stderr,
                  f"audit report {' '.join(args)} is a usage error saying {message!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

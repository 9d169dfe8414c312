#!/usr/bin/env python3
"""`lockboxctl audit report` over a journal of 10 000 audit events (run by
tools/bench): 1 000 requests of 10 events each (filed, two approvals, issued,
installed, two sessions opened and closed, completed), written to a private
journald. The baseline, timed in the same run and interleaved round by round,
is `journalctl -o json` over the same journal: reading and printing every entry
with no summary at all.
"""
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import lockbox_fixture as lf  # noqa: E402

ROUNDS = int(os.environ.get("LOCKBOX_BENCH_ROUNDS", "7"))
REQUESTS = 1000
EVENTS_PER_REQUEST = 10
# liblockbox/audit_event.h
MESSAGE_IDS = {
    "request-created": "b2f58da5f91849bbbff99322e4adf1f1",
    "manager-approved": "348a6816898f495387e333f76caad4c6",
    "approver-approved": "1d449b36ec414777b34524039f520f9b",
    "grant-issued": "ce3b4241d49549d28f1e9632a9c86681",
    "grant-installed": "995bcab9a63b42e7b0bc22b84b2b657e",
    "session-opened": "add16c9f47a0469b8f1492d65529c726",
    "session-closed": "a430774f20564efba6c468e67bb57e12",
    "grant-completed": "bfea40aa51944702891ff1967dd5eecc",
}


def send(sock, ident, host, event, actor, request, engineer, **fields):
    """One entry in journald's native protocol, as AuditRecord::send writes it."""
    lines = [f"MESSAGE_ID={MESSAGE_IDS[event]}", f"MESSAGE={event} {request}", "PRIORITY=5",
             f"SYSLOG_IDENTIFIER={ident}", f"LOCKBOX_EVENT={event}", f"LOCKBOX_ACTOR={actor}",
             f"LOCKBOX_HOST={host}", f"LOCKBOX_REQUEST_ID={request}", "LOCKBOX_TENANT=contoso",
             f"LOCKBOX_TICKET=INC-{request[:6]}", f"LOCKBOX_ENGINEER={engineer}"]
    lines += [f"LOCKBOX_{k}={v}" for k, v in fields.items()]
    sock.send(("\n".join(lines) + "\n").encode())


def write_journal():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect("/run/systemd/journal/socket")
    A, D = "lockbox-approvald", "lockboxd"
    for i in range(REQUESTS):
        r, eng = str(uuid.uuid4()), f"eng{i % 50}"
        send(sock, A, "ctl", "request-created", eng, r, eng, REASON="bench", ACCESS="admin", DURATION="3600",
             HOSTS="db01 web02")
        send(sock, A, "ctl", "manager-approved", "mallory", r, eng, DURATION="3600")
        send(sock, A, "ctl", "approver-approved", "carol", r, eng)
        send(sock, A, "ctl", "grant-issued", "carol", r, eng, NBF="2026-12-03T10:00:00Z", EXP="2026-12-03T11:00:00Z")
        send(sock, D, "db01", "grant-installed", "lockboxd", r, eng)
        send(sock, D, "db01", "session-opened", eng, r, eng, SESSION_ID="s1", RHOST="10.0.0.5")
        send(sock, D, "web02", "session-opened", eng, r, eng, SESSION_ID="s2")
        send(sock, D, "db01", "session-closed", eng, r, eng, SESSION_ID="s1")
        send(sock, D, "web02", "session-closed", eng, r, eng, SESSION_ID="s2")
        send(sock, D, "db01", "grant-completed", "lockboxd", r, eng)
    sock.close()


def timed(argv):
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {r.stderr.decode(errors='replace')}")
    return dt, r.stdout


def main():
    lf.enter_namespace()
    ctl = os.path.join(lf.BUILD_ROOT, "lockboxctl", "lockboxctl")
    total = REQUESTS * EVENTS_PER_REQUEST
    with lf.Sandbox() as sb:
        sb.start_journald()
        write_journal()
        journal = ["journalctl", "--no-pager", "--all", "-o", "json", "SYSLOG_IDENTIFIER=lockboxd",
                   "SYSLOG_IDENTIFIER=lockbox-approvald"]
        lf.wait_until(lambda: timed(journal)[1].count(b"\n") >= total, 60, interval=0.5,
                      what=f"{total} entries in the journal")
        _, out = timed([ctl, "audit", "report", "--json"])
        if out.count(b'"request_id"') != REQUESTS:
            raise RuntimeError("the report does not hold every request")
        report_times, baseline_times = [], []
        for _ in range(ROUNDS):
            report_times.append(timed([ctl, "audit", "report"])[0])
            baseline_times.append(timed(journal)[0])
        rep, base = statistics.median(report_times), statistics.median(baseline_times)
        print(f"audit report over {total} events ({REQUESTS} requests, median of {ROUNDS}): {rep * 1000:.0f} ms; "
              f"journalctl -o json over the same entries {base * 1000:.0f} ms; ratio {rep / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

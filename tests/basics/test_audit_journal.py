#!/usr/bin/python3
"""AuditRecord::send and `lockboxctl audit` against a real systemd-journald.

Runs in its own mount + network namespace (lockbox_fixture); journald's
directories are tmpfs there, so nothing reaches the host's journal.
Usage: test_audit_journal.py LOCKBOXCTL SEND_AUDIT_RECORD
"""
import json
import os
import subprocess
import sys
import uuid

import lockbox_fixture as fx
from lockbox_audit_sender import send_audit

CATALOG_IDS = {  # liblockbox/audit_event.h
    "request-created": "b2f58da5f91849bbbff99322e4adf1f1",
    "manager-approved": "348a6816898f495387e333f76caad4c6",
    "approver-approved": "1d449b36ec414777b34524039f520f9b",
    "grant-issued": "ce3b4241d49549d28f1e9632a9c86681",
    "session-opened": "add16c9f47a0469b8f1492d65529c726",
    "session-killed": "a1de6ee826174896a37a26572820c9b4",
    "notification-sent": "1236bdc1db8b4bb391fed69ad8c8d485",
}


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what, flush=True)


def main():
    fx.enter_namespace()
    ctl, sender = sys.argv[1], sys.argv[2]
    req = str(uuid.uuid4())
    other = str(uuid.uuid4())
    with fx.Sandbox() as sb:
        journald = sb.start_journald()

        def send(ident, event, actor, request=req, fields=(), message=None, user=None):
            send_audit(sender, ident, "db01", event, actor, request, "eve" if request else None, fields=fields,
                       message=message, user=user)

        # The history of one request, in the order the components write it.
        send("lockbox-approvald", "request-created", "eve", message="eve created a request")
        send("lockbox-approvald", "manager-approved", "mallory-manager")
        send("lockbox-approvald", "request-created", "bob", request=other)
        send("lockbox-approvald", "approver-approved", "carol", fields=["REASON=multi\nline %s reason"],
             message="carol approved\n\x1b[2Jfor real")
        send("lockboxd", "grant-issued", "lockbox-approvald")
        send("pam_lockbox", "session-opened", "eve",
             fields=["SESSION_ID=c1", "AUDIT_SESSION=42", "SOURCE_ADDRESS=127.0.0.1"])
        # What tlog-rec-session writes for that session (audit session 42).
        tlog = "TLOG_REC=c0ffee-2a-1\nTLOG_SESSION=42\nTLOG_USER=eve\nTLOG_ID=1\nMESSAGE={\"ver\":\"2.3\"}\n"
        r = run(["logger", "--journald"], input=tlog)
        check(r.returncode == 0, "tlog-style recording entry written")
        send("lockboxd", "session-killed", "lockboxd", fields=["SESSION_ID=c1", "DELAY_MS=180", "PIDS=10 11"])
        # The approval service runs as its own user (lockbox-approvald.service
        # User=): its entries count, but only under its own name.
        sb.add_user("lockbox-approval", 2995)
        send("lockbox-approvald", "notification-sent", "lockbox-approvald", user="2995")
        send("lockboxd", "grant-revoked", "approval-user-forger", user="2995")
        # Noise that must not show up: a forged entry from an unprivileged
        # sender, and a plain log line of a daemon without LOCKBOX_EVENT.
        send("lockboxd", "grant-revoked", "forger", user="65534")
        run(["systemd-cat", "-t", "lockboxd", "echo", f"plain line {req}"])
        run(["logger", "-t", "someone-else", f"LOCKBOX_REQUEST_ID={req}"])

        raw = sb.journal(match={"LOCKBOX_REQUEST_ID": req}, expect=9)
        check(any(e.get("LOCKBOX_ACTOR") == "forger" and e.get("_UID") == "65534" for e in raw),
              "the forged entry reached the journal (so leaving it out below is the filter's doing)")

        r = run([ctl, "audit", "--request", req, "--json"])
        check(r.returncode == 0, f"audit --request --json exits 0 ({r.stderr.strip()})")
        entries = json.loads(r.stdout)
        events = [e["LOCKBOX_EVENT"] for e in entries]
        check(events == ["request-created", "manager-approved", "approver-approved", "grant-issued",
                         "session-opened", "session-killed", "notification-sent"],
              f"the request's history in order, forged and foreign entries left out: {events}")
        for e in entries:
            check(e["MESSAGE_ID"] == CATALOG_IDS[e["LOCKBOX_EVENT"]], f"{e['LOCKBOX_EVENT']} has its MESSAGE_ID")
            check(e["LOCKBOX_REQUEST_ID"] == req and e["LOCKBOX_TENANT"] == "contoso"
                  and e["LOCKBOX_TICKET"] == "INC-7" and e["LOCKBOX_ENGINEER"] == "eve",
                  f"{e['LOCKBOX_EVENT']} carries the request fields")
            check(e["LOCKBOX_HOST"] == "db01" and e["MESSAGE"], f"{e['LOCKBOX_EVENT']} has host and message")
            check(len(e["timestamp"]) == 20 and e["timestamp"].endswith("Z"), "timestamp is RFC 3339 UTC")
        check([e["LOCKBOX_ACTOR"] for e in entries][:3] == ["eve", "mallory-manager", "carol"],
              "actors are the real people")
        check(entries[0]["MESSAGE"] == "eve created a request", "MESSAGE kept")
        check(entries[2]["LOCKBOX_REASON"] == "multi\nline %s reason", "newline and % survive journald")
        check(entries[4]["LOCKBOX_SOURCE_ADDRESS"] == "127.0.0.1" and entries[4]["LOCKBOX_AUDIT_SESSION"] == "42",
              "session fields kept")
        check(entries[5]["LOCKBOX_DELAY_MS"] == "180", "kill delay kept")
        check(entries[4].get("recording") == "c0ffee-2a-1" and "recording" not in entries[5],
              "the session's tlog recording is named on session-opened")
        stamps = [e["timestamp_usec"] for e in entries]
        check(stamps == sorted(stamps), "timestamps ascend")

        r = run([ctl, "audit", "--request", req])
        check(r.returncode == 0 and "approver-approved" in r.stdout and "carol" in r.stdout
              and "delay=180ms" in r.stdout and "from=127.0.0.1" in r.stdout
              and "recording=c0ffee-2a-1" in r.stdout and "forger" not in r.stdout,
              "table shows events, actors, delay and source address")
        lines = r.stdout.splitlines()
        check(len(lines) == 8 and "\x1b" not in r.stdout and "approval-user-forger" not in r.stdout
              and "carol approved  [2Jfor real" in r.stdout,
              "one table row per entry; control characters in values are neutralized")

        r = run([ctl, "audit", "--json"])
        allreq = {e.get("LOCKBOX_REQUEST_ID") for e in json.loads(r.stdout)}
        check(r.returncode == 0 and {req, other} <= allreq, "without --request every request is listed")

        r = run([ctl, "audit", "--since", "2h", "--json"])
        check(r.returncode == 0 and len(json.loads(r.stdout)) >= 7, "--since 2h includes entries just written")
        r = run([ctl, "audit", "--since", "2099-01-01T00:00:00Z", "--json"])
        check(r.returncode == 0 and json.loads(r.stdout) == [], "--since in the future shows nothing")
        r = run([ctl, "audit", "--json", "--limit", "2"])
        check(r.returncode == 0 and len(json.loads(r.stdout)) == 2 and "first 2 entries" in r.stderr,
              "--limit bounds the output and says so")

        for bad in (["--since", "yesterday"], ["--since", "5"], ["--request", "not-a-uuid"]):
            r = run([ctl, "audit"] + bad)
            check(r.returncode == 2 and r.stderr.startswith("lockboxctl: ") and r.stdout == "",
                  f"audit {' '.join(bad)} is a usage error")

        if journald is not None:
            # journald gone (socket left behind): send() must say so, so the
            # caller can keep the record in its outbox.
            sb._end(journald)
            r = run([sender, "lockboxd", "db01", "grant-issued", "x"])
            check(r.returncode == 1 and "journal-unavailable" in r.stderr, "send() reports a dead journald")
            os.unlink("/run/systemd/journal/socket")
            r = run([sender, "lockboxd", "db01", "grant-issued", "x"])
            check(r.returncode == 1 and "journald is not running" in r.stderr, "send() reports a missing journald")
    return 0


if __name__ == "__main__":
    sys.exit(main())

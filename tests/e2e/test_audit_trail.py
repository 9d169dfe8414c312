#!/usr/bin/env python3
"""What an auditor sees: a request's whole history from journald, with the real
people, the catalog's MESSAGE_IDs and the tlog recording of what the engineer
did; and the ways around the recorded shell (port forwarding) stay closed."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc


def catalog_ids():
    with open(lf.source_path("systemd/lockbox.catalog")) as f:
        return set(re.findall(r"^-- ([0-9a-f]{32})", f.read(), re.M))


def forwarding_refused(sb, key):
    """A local forward through an engineer session must not carry traffic."""
    fwd = sb.ssh_spawn(sc.ENGINEER, key, "sleep 30", extra=("-L", "127.0.0.1:2299:127.0.0.1:2222"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        e2e.wait_for(lambda: sb._port_open(2299), 15, "forward listener")
        s = socket.create_connection(("127.0.0.1", 2299), timeout=10)
        s.settimeout(10)
        try:
            data = s.recv(64)
        except (ConnectionResetError, socket.timeout):
            data = b""
        s.close()
        return not data.startswith(b"SSH-")
    finally:
        fwd.kill()
        fwd.wait(timeout=10)


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb, accounts={"Accounts": {"Record": "yes"}})
        key = sb.make_ssh_key("eve")
        r = sc.create_request(sb, key + ".pub", duration="2m", ticket="INC-4242",
                              reason="investigate replication lag")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            assert sc.ctl(sb, ["request", "approve", rid], user=who).returncode == 0
        e2e.wait_for(lambda: e2e.getent("passwd", sc.ENGINEER) is not None, 5, "engineer resolves")
        shell = e2e.getent("passwd", sc.ENGINEER).split(":")[6]
        assert shell.endswith("tlog-rec-session"), f"recorded shell expected, got {shell}"

        marker = f"lockbox-recorded-{uuid.uuid4().hex[:12]}"
        r = sb.ssh(sc.ENGINEER, key, f"echo {marker}", extra=("-tt",))
        assert r.returncode == 0 and marker in r.stdout, f"{r.returncode} {r.stdout} {r.stderr}"

        assert forwarding_refused(sb, key), "port forwarding through an engineer session worked"

        r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "done"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr

        # The recording is in the journal, and the request's history points to it.
        recordings = sb.journal(match={"TLOG_USER": sc.ENGINEER}, expect=1, timeout=15)
        assert any(marker in e.get("MESSAGE", "") for e in recordings), "command output not recorded"

        def history():
            r = sc.ctl(sb, ["audit", "--request", rid, "--json"], user="root")
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

        expected = ["request-created", "manager-approved", "approver-approved", "grant-issued",
                    "grant-installed", "grant-activated", "access-allowed", "session-opened",
                    "grant-revoked"]
        entries = []

        def complete():
            nonlocal entries
            entries = history()
            events = [e.get("LOCKBOX_EVENT") for e in entries]
            return all(x in events for x in expected)

        try:
            lf.wait_until(complete, 15, interval=0.2, what="the full history")
        except TimeoutError:
            raise AssertionError(f"history incomplete: {[e.get('LOCKBOX_EVENT') for e in entries]}")
        events = [e["LOCKBOX_EVENT"] for e in entries]
        order = [events.index(x) for x in expected[:4]]
        assert order == sorted(order), f"workflow events out of order: {events}"
        actors = {}
        for e in entries:  # an event may be audited by both daemons
            actors.setdefault(e["LOCKBOX_EVENT"], set()).add(e.get("LOCKBOX_ACTOR"))
        assert actors["request-created"] == {sc.CREATOR}, actors
        assert actors["manager-approved"] == {sc.MANAGER}, actors
        assert actors["approver-approved"] == {sc.APPROVER}, actors
        assert sc.APPROVER in actors["grant-revoked"], actors
        assert sc.ENGINEER in actors["session-opened"], actors
        for e in entries:
            assert e.get("LOCKBOX_TICKET") == "INC-4242" and e.get("LOCKBOX_ENGINEER") == sc.ENGINEER, e
        opened = [e for e in entries if e["LOCKBOX_EVENT"] == "session-opened"]
        assert all(e.get("LOCKBOX_AUDIT_SESSION") for e in opened), opened
        assert any(e.get("recording") for e in opened), f"no recording tied to the session: {opened}"

        # pam_lockbox's decisions are in the journal under its own identifier.
        pam_lines = sb.journal(identifiers=["pam_lockbox"], expect=1, timeout=10)
        assert any("allowing eve" in e.get("MESSAGE", "") and e.get("PAM_SERVICE") == "sshd"
                   for e in pam_lines), pam_lines

        # Every lockbox entry in journald carries a MESSAGE_ID the catalog explains.
        ids = catalog_ids()
        raw = sb.journal(match={"LOCKBOX_REQUEST_ID": rid})
        assert raw, "journalctl found nothing for the request"
        unknown = {e.get("MESSAGE_ID") for e in raw} - ids
        assert not unknown, f"MESSAGE_IDs missing from the catalog: {unknown}"
        print(f"history of {rid}: {len(entries)} entries, {len(recordings)} recording chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main())

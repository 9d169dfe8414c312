#!/usr/bin/env python3
"""lockbox-approvald end to end on a private bus: an engineer files a request, a
manager and a customer approver approve, a signed grant comes out, every step is
audited in journald with the real actor, `lockboxctl watch` sees the signals, the
daemon restarts between steps without losing anything, and every refused call
(wrong role, wrong state, separation of duties, bad input) leaves the request
exactly as it was."""
import json
import select
import subprocess
import sys
import time

import lockbox_fixture as lf
import approvald_world as w


def read_watch_lines(proc, n, timeout=20):
    lines, buf = [], b""
    deadline = time.monotonic() + timeout
    while len(lines) < n:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"watch printed only {lines}"
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            continue
        chunk = proc.stdout.read1(4096)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(json.loads(line))
    return lines


def start_watch(sb, user):
    proc = sb.spawn([lf.build_path("lockboxctl/lockboxctl"), "--config", sb.config_path, "watch", "--json"],
                    user=user, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The subscription is in place once it says so on stderr.
    deadline = time.monotonic() + 10
    err = b""
    while b"watching" not in err:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"watch did not start: {err!r}"
        ready, _, _ = select.select([proc.stderr], [], [], remaining)
        if ready:
            chunk = proc.stderr.read1(4096)
            assert chunk, "watch exited"
            err += chunk
    return proc


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        keys = w.setup(sb)
        d = w.start(sb)
        watch = start_watch(sb, "oscar")  # signals carry ids and states only: anyone may listen

        # -- bad input: refused with exit 2 before any call, or 1 from the daemon
        r = w.create(sb, keys, duration="0s", check=False)
        assert r.returncode == 2, r
        r = w.create(sb, keys, duration="-1h", check=False)
        assert r.returncode == 2, r
        r = w.create(sb, keys, duration="2 hours", check=False)
        assert r.returncode == 2, r
        w.expect_refused(sb, ["request", "create", "--ticket", "T1", "--host", "db01", "--duration", "5h",
                              "--reason", "x", "--ssh-key", keys["ssh_public"]], "eve", "maximum grant")
        w.expect_refused(sb, ["request", "create", "--ticket", "T1", "--host", "bad_host!", "--duration", "1h",
                              "--reason", "x", "--ssh-key", keys["ssh_public"]], "eve", "host")
        w.expect_refused(sb, ["request", "create", "--tenant", "fabrikam", "--ticket", "T1", "--host", "db01",
                              "--duration", "1h", "--reason", "x", "--ssh-key", keys["ssh_public"]],
                         "eve", "unknown tenant")
        secret = keys["ssh_public"][:-len(".pub")]
        subprocess.run(["chmod", "0644", secret], check=True)
        w.expect_refused(sb, ["request", "create", "--ticket", "T1", "--host", "db01", "--duration", "1h",
                              "--reason", "x", "--ssh-key", secret], "eve", "not an OpenSSH public key", code=2)
        # -- wrong role to create
        w.expect_refused(sb, ["request", "create", "--ticket", "T1", "--host", "db01", "--duration", "1h",
                              "--reason", "x", "--ssh-key", keys["ssh_public"]], "oscar", "engineer role")
        w.expect_refused(sb, ["request", "create", "--ticket", "T1", "--host", "db01", "--duration", "1h",
                              "--reason", "x", "--ssh-key", keys["ssh_public"], "--engineer", "mallory"],
                         "eve", "manager role")

        # -- the thin path, with a restart between every step
        rid = w.create(sb, keys, user="eve")
        assert lf_uuid(rid), rid
        before = w.show(sb, rid)
        assert before["state"] == "pending-manager", before
        assert before["engineer"] == "eve" and before["created_by"] == "eve"
        assert before["hosts"] == ["db01", "db02"] and before["duration"] == 7200
        d = w.restart(sb, d)

        # Refusals at pending-manager leave the request exactly as it was.
        w.expect_refused(sb, ["request", "approve", rid], "bob", "manager role")
        w.expect_refused(sb, ["request", "approve", rid], "eve", "approver role")  # no approving role at all
        w.expect_refused(sb, ["request", "deny", rid, "--reason", "no"], "bob", "manager role")
        w.expect_refused(sb, ["request", "cancel", rid], "mallory", "creator")
        w.expect_refused(sb, ["request", "show", rid], "mallory", "only their own")
        w.expect_refused(sb, ["request", "list"], "oscar", "role")
        w.expect_refused(sb, ["request", "approve", rid, "--duration", "3h"], "alice", "only shorten")
        w.expect_refused(sb, ["request", "show", "00000000-0000-4000-8000-000000000000"], "alice",
                         "00000000-0000-4000-8000-000000000000")
        assert w.show(sb, rid) == before, "a refused call changed the request"
        mallory_list = json.loads(sb.ctl(["request", "list", "--json"], user="mallory", check=True).stdout)
        assert mallory_list == [], mallory_list
        eve_list = json.loads(sb.ctl(["request", "list", "--json"], user="eve", check=True).stdout)
        assert [x["id"] for x in eve_list] == [rid]

        r = sb.ctl(["request", "approve", rid, "--comment", "ticket checked"], user="alice", check=True)
        assert r.stdout.strip() == "pending-approver", r.stdout
        d = w.restart(sb, d)
        mid = w.show(sb, rid)
        assert mid["state"] == "pending-approver", mid
        # Separation of duties: carol approving twice is the same person at both stages.
        rid2 = w.create(sb, keys, user="eve")
        sb.ctl(["request", "approve", rid2], user="carol", check=True)
        w.expect_refused(sb, ["request", "approve", rid2], "carol", "separation of duties")
        # Managers cannot take the approver stage; approvers can't lengthen.
        w.expect_refused(sb, ["request", "approve", rid], "alice", "approver role")
        w.expect_refused(sb, ["request", "approve", rid, "--duration", "3h"], "bob", "only shorten")
        assert w.show(sb, rid) == mid, "a refused call changed the request"

        r = sb.ctl(["request", "approve", rid, "--duration", "1h"], user="bob", check=True)
        assert r.stdout.strip() == "approved", r.stdout
        d = w.restart(sb, d)
        final = w.show(sb, rid)
        assert final["state"] in ("approved", "active"), final
        assert final["duration"] == 3600
        assert [a["user"] for a in final["approvals"]] == ["alice", "bob"]

        # The grant: exported by the engineer, not by another engineer.
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "ExportGrant",
                           "s", rid, user="eve")
        assert r.returncode == 0, r.stderr
        token = json.loads(r.stdout)["data"][0]
        claims = w.token_claims(token)
        assert claims["sub"] == "eve" and claims["aud"] == "contoso" and claims["jti"] == rid, claims
        assert claims["hosts"] == ["db01", "db02"] and claims["ticket"] == "INC-4711"
        assert [(a["role"], a["user"]) for a in claims["approved_by"]] == [("manager", "alice"), ("approver", "bob")]
        assert claims["iss"] == "db01"
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "ExportGrant",
                           "s", rid, user="mallory")
        assert r.returncode != 0 and "access denied" in (r.stderr + r.stdout).lower(), r
        # GetHostGrants is root's (lockboxd's).
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "GetHostGrants",
                           "ss", "contoso", "db02")
        assert r.returncode == 0, r.stderr
        grants = json.loads(r.stdout)["data"]
        assert grants[0] == [[rid, token]] and grants[1] == [], grants
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "GetHostGrants",
                           "ss", "contoso", "db02", user="bob")
        assert r.returncode != 0

        # GetCallerRoles: every caller learns their own roles, a person with none an empty list.
        for user, roles in (("eve", ["engineer"]), ("alice", ["manager"]), ("bob", ["approver"]),
                            ("carol", ["manager", "approver"]), ("oscar", []), ("root", ["root"])):
            r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "GetCallerRoles",
                               user=user)
            assert r.returncode == 0, f"GetCallerRoles as {user}: {r.stderr}"
            assert json.loads(r.stdout)["data"] == [user, roles], (user, r.stdout)

        # Deny and cancel at their stages; revoke the grant.
        sb.ctl(["request", "deny", rid2, "--reason", "not this week"], user="bob", check=True)
        assert w.show(sb, rid2)["state"] == "denied"
        w.expect_refused(sb, ["request", "approve", rid2], "bob", "denied")
        rid3 = w.create(sb, keys, user="eve")
        sb.ctl(["request", "cancel", rid3], user="eve", check=True)
        assert w.show(sb, rid3)["state"] == "cancelled"
        w.expect_refused(sb, ["request", "cancel", rid3], "eve", "cancelled")
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "RevokeGrant",
                           "ss", rid, "incident closed", user="alice")
        assert r.returncode != 0 and "access denied" in r.stderr.lower(), r.stderr
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "RevokeGrant",
                           "ss", rid, "incident closed", user="bob")
        assert r.returncode == 0, r.stderr
        assert w.show(sb, rid)["state"] == "revoked"

        # -- the audit trail, with real actor names
        ev = w.events(sb, rid, expect=8)
        for needed in [("request-created", "eve"), ("manager-approved", "alice"), ("approver-approved", "bob"),
                       ("grant-issued", "bob"), ("grant-revoked", "bob"), ("call-refused", "bob"),
                       ("call-refused", "mallory"), ("call-refused", "alice")]:
            assert needed in ev, f"{needed} missing from the journal: {ev}"
        entry = sb.journal(match={"LOCKBOX_REQUEST_ID": rid, "LOCKBOX_EVENT": "request-created"})[0]
        for field, value in [("LOCKBOX_TENANT", "contoso"), ("LOCKBOX_TICKET", "INC-4711"),
                             ("LOCKBOX_ENGINEER", "eve"), ("SYSLOG_IDENTIFIER", "lockbox-approvald"),
                             ("MESSAGE_ID", "b2f58da5f91849bbbff99322e4adf1f1")]:
            assert entry.get(field) == value, f"{field}={entry.get(field)!r}"
        refusals = sb.journal(match={"LOCKBOX_EVENT": "call-refused", "LOCKBOX_ACTOR": "oscar"})
        assert refusals, "oscar's refused calls are not audited"
        w.events(sb, rid2, expect=1)
        assert ("request-denied", "bob") in w.events(sb, rid2)
        assert ("request-cancelled", "eve") in w.events(sb, rid3)

        # -- watch saw the signals, ids and states only
        seen = read_watch_lines(watch, 11)
        kinds = [(x["event"], x["id"], x.get("state")) for x in seen]
        assert ("RequestChanged", rid, "pending-manager") in kinds, kinds
        assert ("RequestChanged", rid, "pending-approver") in kinds, kinds
        assert ("RequestChanged", rid, "approved") in kinds, kinds
        assert ("GrantIssued", rid, None) in kinds, kinds
        for x in seen:
            assert set(x) <= {"time", "event", "id", "state"}, x
        sb.stop_daemon(d)
    print("ok")
    return 0


def lf_uuid(text):
    import re
    return re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text) is not None


if __name__ == "__main__":
    sys.exit(main())

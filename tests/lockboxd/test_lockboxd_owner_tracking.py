#!/usr/bin/env python3
"""Who owns org.lockbox.Approval1, as lockboxd believes it (issue 17, item 1).

1. A local user (mallory) sends lockboxd a unicast NameOwnerChanged claiming the
   approval service left. It is not from the bus driver: refused, audited
   `bus-signal-forged` with her connection's unique name, and lockboxd still reports the service
   reachable and acts on the next GrantRevoked at once.
2. A flood of such signals is audited at most 10 times a minute, and lockboxd's
   own log lines are held to the same bound.
3. A revocation whose signal never comes is acted on by the periodic resync
   ([Policy] ResyncInterval, 2 s here).

The approval service is tests/lockboxd/fake_approval_service, as in
test_lockboxd_signals.py."""
import json
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402
from test_lockboxd_signals import FakeApproval, state_of  # noqa: E402

POLICY = {"MaxGrant": "1h", "KillGrace": "1s", "WarnBefore": "10m 1m"}
MALLORY_UID = 2901
FLOOD = 200


def owner_of(sb, name):
    r = subprocess.run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "GetNameOwner", "s", name],
                       capture_output=True, text=True, timeout=30)
    t.expect(r.returncode == 0, f"GetNameOwner {name}: {r.stderr}")
    return r.stdout.split('"')[1]


def status(sb):
    r = sb.ctl(["status", "--json"], check=True)
    return json.loads(r.stdout)


def forged_entries(sb):
    return sb.journal(match={"LOCKBOX_EVENT": "bus-signal-forged"})


def main(sb, uids):
    t.setup_world(sb, policy=POLICY)
    sb.add_user("mallory", MALLORY_UID)
    store = os.path.join(sb.dir, "approval-store")
    os.makedirs(store)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fake = FakeApproval(sb, store)
    fake.add_token(a, t.make_grant(sb, "ownera", jti=a, exp=600))
    fake.add_token(b, t.make_grant(sb, "ownerb", jti=b, exp=600))
    d = t.start_lockboxd(sb)
    lf.wait_until(lambda: state_of(sb, a) == "active" and state_of(sb, b) == "active", 15,
                  what="grants from the start-up resync")
    uid_a, uid_b = t.uid_of(sb, a), t.uid_of(sb, b)
    uids += [uid_a, uid_b]
    enforcer, approval = owner_of(sb, "org.lockbox.Enforcer1"), owner_of(sb, "org.lockbox.Approval1")

    # 1. One forged NameOwnerChanged, as mallory would send it.
    r = subprocess.run(sb._as_user(["busctl", "--system", "emit", f"--destination={enforcer}",
                                    "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss",
                                    "org.lockbox.Approval1", approval, ""], "mallory"),
                       capture_output=True, text=True, timeout=30)
    t.expect(r.returncode == 0, f"busctl emit as mallory: {r.stderr}")
    entries = sb.journal(match={"LOCKBOX_EVENT": "bus-signal-forged"}, expect=1, timeout=15)
    e = entries[0]
    t.expect(e.get("LOCKBOX_SIGNAL") == "NameOwnerChanged", e)
    t.expect(e.get("LOCKBOX_SENDER", "").startswith(":"), e)
    # busctl has left the bus by the time lockboxd asks who it was: the uid is
    # then unknown, never someone else's.
    t.expect(e.get("LOCKBOX_SENDER_UID") in (None, str(MALLORY_UID)), e)
    t.expect(status(sb)["approval_service"] == "reachable", "a forged NameOwnerChanged was believed")
    # The next genuine GrantRevoked still acts at once.
    t.spawn_tree(sb, uid_a)
    fake.revoke(a)
    fake.emit("revoked", a)
    t.wait_gone(uid_a, timeout=20)
    t.expect(state_of(sb, a) == "revoked", f"A is {state_of(sb, a)}")

    # 2. A flood: the journal gets at most 10 entries a minute and one summary
    # (the entry above included; the flood may straddle two minutes), and
    # lockboxd logs no more lines than it audits.
    r = subprocess.run(sb._as_user([lf.build_path("tests/lockboxd/fake_approval_service"), "--forge-owner-change",
                                    enforcer, approval, str(FLOOD)], "mallory"),
                       capture_output=True, text=True, timeout=60)
    t.expect(r.returncode == 0, f"flood: {r.stderr}")
    sb.journal(match={"LOCKBOX_EVENT": "bus-signal-forged"}, expect=10, timeout=30)
    # The flooder stayed connected: its entries name mallory.
    named = [x for x in forged_entries(sb) if x.get("LOCKBOX_SENDER_UID") == str(MALLORY_UID)]
    t.expect(named and named[-1].get("LOCKBOX_ACTOR") == f"uid:{MALLORY_UID}" and named[-1].get("LOCKBOX_SENDER_PID"),
             f"no entry names mallory: {forged_entries(sb)}")
    t.expect(status(sb)["approval_service"] == "reachable", "the flood was believed")
    n = len(forged_entries(sb))
    lines = d.log_text().count("ignoring NameOwnerChanged")
    print(f"{FLOOD + 1} forged signals: {n} audit entries, {lines} log lines")
    t.expect(n <= 21, f"{n} bus-signal-forged entries for {FLOOD + 1} forged signals")
    t.expect(lines <= 21, f"{lines} log lines for {FLOOD + 1} forged signals")

    # 3. A revocation without its signal: the periodic resync finds it.
    sb.kill_daemon(d)
    sb.write_config({"Policy": dict(POLICY, ResyncInterval="2s")})
    d = t.start_lockboxd(sb)
    lf.wait_until(lambda: status(sb)["approval_service"] == "reachable", 15, what="approval service found")
    t.spawn_tree(sb, uid_b)
    fake.revoke(b)  # no GrantRevoked: lost, or never sent
    t.wait_gone(uid_b, timeout=30)
    t.expect(state_of(sb, b) == "revoked", f"B is {state_of(sb, b)}")
    fake.stop()


if __name__ == "__main__":
    t.run(main)

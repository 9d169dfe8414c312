#!/usr/bin/env python3
"""Attack (issue 17 §3): a local account holds the engineer's name.

A. A local account named like the engineer, with a uid inside the lockbox
   range, exists before the grant: lockboxd must refuse the grant, serve no
   keys, and sshd must not admit the engineer's key for that account.
B. The engineer has an active grant, then the admin adds a local account of the
   same name (as useradd, vipw or a directory source would: the name now
   resolves through `files` first). `lockboxctl authorized-keys` (sshd's
   AuthorizedKeysCommand) must serve nothing for it, and ssh with the engineer's
   key into the local account must be refused.
Both conflicts are audited as `name-conflict`. A process of the in-range local
account (a uid in the lockbox range that no active grant holds) is ended when
a grant ends, and one of a never-mapped uid in the range when lockboxd starts.
Engineer names are this test's own: other sandboxes on the
machine share the uid range and the uid a name hashes to."""
import subprocess
import sys

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

IN_RANGE_UID = 2100000777   # inside [Accounts] UIDMin..UIDMax (2100000000..2100099999)
LOCAL_UID = 1777            # what useradd would pick: outside the range


def approve(sb, key, engineer, ticket):
    r = sc.create_request(sb, key + ".pub", duration="4m", ticket=ticket, engineer=engineer)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, f"{who} approve: {r.stderr}"
    return rid


def served_keys(sb, user):
    """What sshd's AuthorizedKeysCommand prints, run as sshd runs it."""
    r = sc.ctl(sb, ["authorized-keys", user], user="lockbox-authkeys")
    assert r.returncode == 0, f"authorized-keys {user}: {r.returncode} {r.stderr}"
    return r.stdout.strip()


def lockboxd_decided(sb, rid):
    """Waits (bounded) until lockboxd installed or refused the grant; returns the event."""
    seen = {}

    def decided():
        for event in ("grant-installed", "grant-refused"):
            if sb.journal(match={"LOCKBOX_EVENT": event, "LOCKBOX_REQUEST_ID": rid,
                                 "SYSLOG_IDENTIFIER": "lockboxd"}):
                seen["event"] = event
                return True
        return False

    lf.wait_until(decided, 30, interval=0.2, what=f"lockboxd's decision on {rid}")
    return seen["event"]


def case_a(sb):
    name = "ivan"
    sb.add_user(name, IN_RANGE_UID)
    key = sb.make_ssh_key(name)
    rid = approve(sb, key, name, "INC-3001")
    decision = lockboxd_decided(sb, rid)
    keys = served_keys(sb, name)
    assert keys == "", f"A: keys of a grant for a name a local account holds were served: {keys!r}"
    assert decision == "grant-refused", f"A: lockboxd {decision} a grant for a local account's name"
    r = sb.ssh(name, key, "id -u")
    assert r.returncode == 255, f"A: ssh as the local {name} with the engineer's key: {r.returncode} {r.stdout}"
    conflicts = sb.journal(match={"LOCKBOX_EVENT": "name-conflict", "LOCKBOX_ENGINEER": name},
                           expect=1, timeout=15)
    assert conflicts, "A: no name-conflict audit record"
    line = e2e.getent("passwd", name)
    assert line and line.split(":")[2] == str(IN_RANGE_UID), f"A: the local account must stay: {line}"
    # The local account runs something under its in-range uid; no grant holds that uid.
    return sb.spawn(["setpriv", f"--reuid={IN_RANGE_UID}", f"--regid={IN_RANGE_UID}", "--clear-groups",
                     "sleep", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def case_b(sb, in_range_process):
    name = "quinn"
    key = sb.make_ssh_key(name)
    rid = approve(sb, key, name, "INC-3002")
    e2e.wait_for(lambda: e2e.getent("passwd", name) is not None, 30, f"{name} resolves")
    r = sb.ssh(name, key, "id -u")
    assert r.returncode == 0, f"B: the engineer's own login must work first: {r.returncode} {r.stderr}"
    engineer_uid = int(r.stdout.strip())
    assert 2100000000 <= engineer_uid <= 2100099999, engineer_uid

    # useradd itself refuses while the name resolves (through nss_lockbox); an
    # admin's vipw or a directory source adds it all the same.
    sb.add_user(name, LOCAL_UID)
    line = e2e.getent("passwd", name)
    assert line and line.split(":")[2] == str(LOCAL_UID), f"B: the local account must win: {line}"

    keys = served_keys(sb, name)
    assert keys == "", f"B: the engineer's keys were served for the local account {name}: {keys!r}"
    r = sb.ssh(name, key, "id -u")
    assert r.returncode == 255, (f"B: the engineer's key opened the local account {name}: "
                                 f"{r.returncode} uid={r.stdout.strip()}")
    conflicts = sb.journal(match={"LOCKBOX_EVENT": "name-conflict", "LOCKBOX_ENGINEER": name},
                           expect=1, timeout=15)
    assert conflicts, "B: no name-conflict audit record"

    # When a grant ends, every process in the lockbox range without a grant
    # ends, also one whose uid lockboxd never mapped (A's local account).
    assert in_range_process.poll() is None, "A's in-range process ended before any grant did"
    r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "name taken"], user=sc.APPROVER)
    assert r.returncode == 0, r.stderr
    try:
        in_range_process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"a process of uid {IN_RANGE_UID} (lockbox range, no grant) survived a grant's end")
    # Audited once the kill is done (asynchronously, after quinn's own).
    def audited():
        killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "SYSLOG_IDENTIFIER": "lockboxd"})
        return any(str(in_range_process.pid) in e.get("LOCKBOX_PIDS", "").split() for e in killed)

    try:
        lf.wait_until(audited, 15, interval=0.2, what="the kill of the in-range process audited")
    except TimeoutError:
        raise AssertionError(f"the kill of uid {IN_RANGE_UID}'s process was not audited")


def case_start_up_sweep(sb):
    """A process in the range that lockboxd never mapped, alive while lockboxd
    is down (a lost map, a local account), ends when lockboxd starts."""
    uid = IN_RANGE_UID + 1
    sb.kill_daemon(sb.daemons["lockboxd"])
    stray = sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "600"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: stray.pid in e2e.processes_of_uid(uid), 10, "the stray process runs")
    sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
    try:
        stray.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"a process of uid {uid} (lockbox range, never mapped) survived lockboxd's start")


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        in_range_process = case_a(sb)
        case_b(sb, in_range_process)
        case_start_up_sweep(sb)
    return 0


if __name__ == "__main__":
    sys.exit(main())

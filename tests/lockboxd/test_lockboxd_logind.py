#!/usr/bin/env python3
"""lockboxd's logind calls (lockboxd/logind_client.cc) against a recording
stub of org.freedesktop.login1 (tests/lockboxd/fake_logind.cc; it tests
lockboxd's client, not logind), and KillSession on one of two sessions.

1. Without /run/systemd/seats (logind not running) the end of a grant makes
   no logind call at all.
2. With /run/systemd/seats, the end of a grant calls TerminateSession with the
   logind session id given to OpenSession (each session) and KillUser with the
   engineer's uid and SIGTERM, from lockboxd's process (uid 0); the stub does
   nothing, and the processes are still gone: the uid sweep does not depend
   on logind.
3. KillSession(A) with two sessions of one engineer, each in its own kernel
   audit session (/proc/PID/sessionid, set by writing /proc/self/loginuid as
   root, as pam_loginuid does): all of A, including a grandchild that left
   the kernel session with setsid, ends; B keeps running; logind is asked to
   terminate A's logind session only, and nothing uid-wide (no KillUser).
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402

LOGIN1_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="org.freedesktop.login1"/>
    <allow send_destination="org.freedesktop.login1"/>
  </policy>
</busconfig>
"""


def calls(log_path):
    """[(method, [args...], {"caller_uid": .., "caller_pid": ..})] in call order."""
    out = []
    if not os.path.exists(log_path):
        return out
    with open(log_path) as f:
        for line in f.read().splitlines():
            words = line.split()
            args = [w for w in words[1:] if "=" not in w]
            caller = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            out.append((words[0], args, caller))
    return out


def audit_session(pid):
    try:
        with open(f"/proc/{pid}/sessionid") as f:
            return int(f.read())
    except OSError:
        return None


def pids_in_audit_session(uid, session):
    return [p for p in t.live_pids(uid) if audit_session(p) == session]


def spawn_in_audit_session(sb, uid, script):
    """script as uid, in a new kernel session (as sshd starts one) and a new
    audit session (root writes the loginuid, then drops to uid)."""
    assert t.UID_MIN <= uid <= t.UID_MAX
    wrapper = ('echo "$1" > /proc/self/loginuid && '
               'exec setpriv --reuid="$1" --regid="$1" --clear-groups -- /bin/sh -c "$2"')
    return sb.spawn(["/bin/sh", "-c", wrapper, "sh", str(uid), script], start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def grant_for(sb, uids, sub, exp):
    jti = t.import_grant(sb, t.make_grant(sb, sub, nbf=-1, exp=exp)).stdout.strip()
    uid = t.uid_of(sb, jti)
    uids.append(uid)
    t.expect(t.UID_MIN <= uid <= t.UID_MAX, f"uid {uid} outside the lockbox range")
    return jti, uid


def open_session(sb, user, pid, logind_session):
    r = t.call(sb, "OpenSession", "susss", user, pid, "", "127.0.0.1", logind_session)
    t.expect(r.returncode == 0, f"OpenSession: {r.stderr}")
    import json
    return json.loads(r.stdout)["data"][0]


def prepare():
    # The host has /run/systemd/seats (and maybe a logind): hide all of
    # /run/systemd so that this test alone decides whether "logind runs".
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run/systemd"], check=True)


def main(sb, uids):
    if not os.path.isdir("/etc/dbus-1/system.d"):
        lf.log("/etc/dbus-1/system.d missing: no place for the stub's bus policy; skipping")
        sys.exit(lf.SKIP)
    # The stub may own org.freedesktop.login1 on the private bus whether or not
    # the host ships logind's policy; the tmpfs hides the host's policies here only.
    sb.mount_tmpfs("/etc/dbus-1/system.d")
    with open("/etc/dbus-1/system.d/fake-login1.conf", "w") as f:
        f.write(LOGIN1_POLICY)
    t.setup_world(sb)
    log_path = os.path.join(sb.dir, "logind-calls.log")
    stub = sb.spawn([lf.build_path("tests/lockboxd/fake_logind"), "--log", log_path],
                    stdout=subprocess.DEVNULL)
    lf.wait_until(lambda: stub.poll() is not None or sb.name_has_owner("org.freedesktop.login1"), 10,
                  what="fake logind on the bus")
    t.expect(stub.poll() is None, "fake_logind exited")
    d = t.start_lockboxd(sb)
    t.expect(not os.path.exists("/run/systemd/seats"), "/run/systemd/seats is visible")

    # 1. No logind: nothing is called, the sweep alone ends the grant.
    jti1, uid1 = grant_for(sb, uids, "eng1", exp=4)
    leader1 = t.spawn_tree(sb, uid1)
    open_session(sb, "eng1", leader1.pid, "c1")
    t.wait_gone(uid1, timeout=20)
    sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": jti1}, expect=1)

    # 2. logind "runs": TerminateSession per session, KillUser for the uid.
    os.makedirs("/run/systemd/seats")
    jti2, uid2 = grant_for(sb, uids, "eng2", exp=5)
    leader2 = t.spawn_tree(sb, uid2)
    open_session(sb, "eng2", leader2.pid, "c7")
    other2 = t.spawn_as(sb, uid2, ["sleep", "120"], start_new_session=True)
    open_session(sb, "eng2", other2.pid, "c8")
    t.expect(not calls(log_path), f"logind called without /run/systemd/seats: {calls(log_path)}")
    t.wait_gone(uid2, timeout=20)
    want = [("TerminateSession", ["c7"]), ("TerminateSession", ["c8"]), ("KillUser", [str(uid2), str(signal.SIGTERM)])]
    lf.wait_until(lambda: all(any(c[:2] == (m, a) for c in calls(log_path)) for m, a in want), 10,
                  what=f"logind calls {want}")
    got = calls(log_path)
    # D-Bus keeps one sender's messages in order: had phase 1 called logind,
    # its calls would be recorded before these.
    t.expect(sorted(c[:2] for c in got) == sorted(want), f"logind calls: {got}, expected exactly {want}")
    for method, args, caller in got:
        t.expect(caller == {"caller_uid": "0", "caller_pid": str(d.pid)},
                 f"{method} {args} came from {caller}, not lockboxd (pid {d.pid})")
    t.expect(stub.poll() is None, "fake_logind died")

    # 3. KillSession on one of two sessions of one engineer.
    before = len(got)
    jti3, uid3 = grant_for(sb, uids, "eng3", exp=300)
    a = spawn_in_audit_session(sb, uid3, t.TREE_SCRIPT)
    b = spawn_in_audit_session(sb, uid3, "exec sleep 120")

    def escaped_from_a():
        out = []
        for p in pids_in_audit_session(uid3, audit_session(a.pid)):
            try:
                if os.getsid(p) != a.pid:
                    out.append(p)
            except ProcessLookupError:
                pass
        return out
    lf.wait_until(lambda: escaped_from_a() and b.pid in t.live_pids(uid3), 20,
                  what="session A's escaped grandchild and session B")
    sa, sb_ = audit_session(a.pid), audit_session(b.pid)
    t.expect(sa is not None and sb_ is not None and sa != sb_ and 4294967295 not in (sa, sb_),
             f"audit sessions A={sa} B={sb_}")
    escaped = escaped_from_a()
    t.expect(pids_in_audit_session(uid3, sb_) == [b.pid], f"session B: {pids_in_audit_session(uid3, sb_)}")
    sid_a = open_session(sb, "eng3", a.pid, "c20")
    open_session(sb, "eng3", b.pid, "c21")
    r = t.call(sb, "KillSession", "s", sid_a)
    t.expect(r.returncode == 0, f"KillSession: {r.stderr}")

    def a_gone():
        t.reap_children()
        return not pids_in_audit_session(uid3, sa)
    try:
        lf.wait_until(a_gone, 15, interval=0.05, what="all of session A to end")
    except TimeoutError:
        left = pids_in_audit_session(uid3, sa)
        raise AssertionError(f"session A left {left} (escaped with setsid: {[p for p in left if p in escaped]})")
    t.expect(b.poll() is None and b.pid in t.live_pids(uid3), "KillSession(A) ended session B")
    sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_SESSION_ID": sid_a}, expect=1)
    lf.wait_until(lambda: len(calls(log_path)) > before, 10, what="TerminateSession for session A")
    new = [c[:2] for c in calls(log_path)[before:]]
    t.expect(new == [("TerminateSession", ["c20"])], f"logind calls for KillSession(A): {new}")
    sb.stop_daemon(d)


if __name__ == "__main__":
    t.run(main, prepare=prepare)

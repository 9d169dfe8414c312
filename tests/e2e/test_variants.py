#!/usr/bin/env python3
"""The lifecycle's other endings, on the same real sshd: a duration above the
maximum, a denial, a revocation while a session runs, lockboxd killed and
restarted, 20 parallel logins, a request nobody answers, and a grant signed by a
key this host does not trust."""
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc


def approve_both(sb, rid):
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, f"{who} approve: {r.stderr}"


def granted(sb, engineer, key, duration, ticket):
    r = sc.create_request(sb, key + ".pub", duration=duration, ticket=ticket, engineer=engineer)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    approve_both(sb, rid)
    e2e.wait_for(lambda: e2e.getent("passwd", engineer) is not None, 5, f"{engineer} resolves")
    return rid


def uid_of(name):
    return int(e2e.getent("passwd", name).split(":")[2])


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def step(title):
    print(f"--- {title}", flush=True)


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        key = sb.make_ssh_key("engineer")

        # A local, unmanaged user proves sshd keeps serving everyone else.
        sb.add_user("probe", 2810, home="/var/lib/probe", shell="/bin/sh")
        os.makedirs("/var/lib/probe/.ssh")
        probe_key = sb.make_ssh_key("probe")
        shutil.copy(probe_key + ".pub", "/var/lib/probe/.ssh/authorized_keys")
        subprocess.run(["chown", "-R", "probe:probe", "/var/lib/probe"], check=True)

        step("a duration above the maximum is refused")
        r = sc.create_request(sb, key + ".pub", duration="5h", engineer="frank")
        assert r.returncode == 1, f"{r.returncode} {r.stdout}"
        assert "4h" in r.stderr or "maximum" in r.stderr.lower(), r.stderr
        listed = sc.ctl_json(sb, ["request", "list"], user="root")
        assert not any(x["engineer"] == "frank" for x in listed), "refused request was stored"

        step("deny")
        r = sc.create_request(sb, key + ".pub", duration="1m", engineer="gina", ticket="INC-2")
        rid = r.stdout.strip()
        assert sc.ctl(sb, ["request", "approve", rid], user=sc.MANAGER).returncode == 0
        r = sc.ctl(sb, ["request", "deny", rid, "--reason", "not during quarter close"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        assert sc.request_state(sb, rid) == "denied"
        assert e2e.getent("passwd", "gina") is None
        assert sb.ssh("gina", key, "true").returncode == 255

        step("revoke while a session runs")
        rid = granted(sb, "hank", key, "3m", "INC-3")
        uid = uid_of("hank")
        session = sb.ssh_spawn("hank", key, "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 10, "hank's processes")
        t0 = time.monotonic()
        r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "work finished"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 10, "hank's processes gone")
        print(f"revocation: processes gone {1000 * (time.monotonic() - t0):.0f} ms after the revoke call")
        session.wait(timeout=15)
        assert sc.request_state(sb, rid) == "revoked"
        assert e2e.getent("passwd", "hank") is None
        assert sb.ssh("hank", key, "true").returncode == 255

        step("lockboxd killed with SIGKILL, then restarted")
        rid = granted(sb, "ivan", key, "4m", "INC-4")
        uid = uid_of("ivan")
        session = sb.ssh_spawn("ivan", key, "sleep 1000", stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 1, 10, "ivan's session")
        before = set(e2e.processes_of_uid(uid))
        sb.kill_daemon(sb.daemons["lockboxd"])
        t0 = time.monotonic()
        r = sb.ssh("ivan", key, "true", timeout=30)
        refused_after = time.monotonic() - t0
        assert r.returncode == 255, f"ssh with lockboxd dead must fail closed: {r.returncode}"
        print(f"with lockboxd dead, ssh refused in {refused_after * 1000:.0f} ms")
        r = sb.ssh("probe", probe_key, "echo still-serving")
        assert r.returncode == 0 and "still-serving" in r.stdout, f"unmanaged user refused: {r.stderr}"
        sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
        r = sb.ssh("ivan", key, "echo back")
        assert r.returncode == 0 and "back" in r.stdout, f"after restart: {r.returncode} {r.stderr}"
        assert before <= set(e2e.processes_of_uid(uid)), "restart cut a session whose grant is valid"
        assert session.poll() is None, "the running ssh session ended across the restart"

        step("20 parallel logins")
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda i: sb.ssh("ivan", key, f"echo login-{i}", timeout=60), range(20)))
        ok = sum(1 for i, r in enumerate(results) if r.returncode == 0 and f"login-{i}" in r.stdout)
        assert ok == 20, [(r.returncode, r.stderr) for r in results if r.returncode != 0]

        step("session kill ends one session, its setsid escapee included, and spares the other")
        def ivan_sessions():
            return {x["id"]: x for x in sc.ctl_json(sb, ["session", "list"], user="root") if x["user"] == "ivan"}

        def pids_running(command):
            return [p for p in e2e.processes_of_uid(uid) if cmdline_of(p).strip() == command]

        before_ids = set(ivan_sessions())
        second = sb.ssh_spawn("ivan", key, "setsid nohup sleep 1001 >/dev/null 2>&1 </dev/null & sleep 1002",
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: pids_running("sleep 1001") and pids_running("sleep 1002"), 10,
                     "ivan's second session")
        new_ids = set(ivan_sessions()) - before_ids
        assert len(new_ids) == 1, f"expected one new session, got {new_ids}"
        victim = ivan_sessions()[new_ids.pop()]
        assert "audit_session" in victim, f"pam_loginuid ran before pam_lockbox, yet no audit session: {victim}"
        escapee = pids_running("sleep 1001")
        assert os.getsid(escapee[0]) != os.getsid(pids_running("sleep 1002")[0]), "the escapee kept its session"
        r = sc.ctl(sb, ["session", "kill", victim["id"]], user="root")
        assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: not pids_running("sleep 1001") and not pids_running("sleep 1002"), 10,
                     "the killed session's processes gone")
        second.wait(timeout=15)
        assert pids_running("sleep 1000"), "killing one session ended the engineer's other session"
        assert session.poll() is None, "the other ssh session ended"
        assert victim["id"] not in ivan_sessions()

        step("nobody answers: the request expires")
        approvald = sb.daemons["lockbox-approvald"]
        sb.stop_daemon(approvald)
        config = sc.read_system_config()
        config["Policy"]["PendingTimeout"] = "3s"
        sb.write_system_config(config)
        sb.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
        r = sc.create_request(sb, key + ".pub", duration="1m", engineer="judy", ticket="INC-5")
        rid = r.stdout.strip()
        e2e.wait_for(lambda: sc.request_state(sb, rid) == "expired", 15, "request expired")
        r = sc.ctl(sb, ["request", "approve", rid], user=sc.MANAGER)
        assert r.returncode == 1 and "expired" in r.stderr, r.stderr
        sb.stop_daemon(sb.daemons["lockbox-approvald"])
        config["Policy"]["PendingTimeout"] = "12h"
        sb.write_system_config(config)

        step("a grant signed by a key this host does not trust")
        rogue = os.path.join(sb.dir, "rogue")
        r = subprocess.run(["lockboxctl", "key", "generate", "--out", rogue], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        shutil.copy(os.path.join(rogue, "signing.secret"), "/etc/lockbox/private/signing.secret")
        sb.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
        r = sc.create_request(sb, key + ".pub", duration="1m", engineer="kate", ticket="INC-6")
        rid = r.stdout.strip()
        approve_both(sb, rid)
        refused = sb.journal(match={"LOCKBOX_EVENT": "grant-refused", "LOCKBOX_REQUEST_ID": rid},
                             expect=1, timeout=10)
        assert refused, "lockboxd did not audit the refused grant"
        time.sleep(0.5)
        assert e2e.getent("passwd", "kate") is None, "a grant from an untrusted key resolved"
        assert sb.ssh("kate", key, "true").returncode == 255
        token = sc.ctl(sb, ["grant", "export", rid], user="root").stdout.strip()
        r = sc.ctl(sb, ["grant", "import", token], user="root")
        assert r.returncode == 1 and "unknown-key" in r.stderr, f"{r.returncode} {r.stderr}"
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Attack: the engineer freezes the kill (issue 17, item 2).

The engineer logs in over ssh and leaves a program behind that loops
kill(-1, SIGSTOP) with SIGTERM and SIGHUP ignored: it stops every other process
of their uid, again and again. Whatever lockboxd runs as that uid to end the
session (a helper that drops to the engineer's uid and calls kill(-1)) is
stopped too, and a daemon that waits for it blocks, for every engineer.

(a) The approver revokes the grant: every process of the engineer's uid is
gone within a bounded wait, and `lockboxctl status` (root) answers while the
kill runs. (b) A second grant simply expires with the same loop running: every
process is gone after exp. (c) `lockboxctl session kill` of one of two sessions,
the loop running inside it: that session's processes are gone, the other
session's stay, status answers. Timings are printed, not asserted (bench/ has
them).
"""
import os
import signal
import subprocess
import sys
import threading
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
import lockbox_stop_loop as stop_loop
from lockbox_time import parse_rfc3339

# Bounded waits: generous, as the machine is shared; a hang shows as a timeout.
GONE_WITHIN = 30


def step(title):
    print(f"--- {title}", flush=True)


def kill_every_process_of(uid):
    """Cleanup as root: SIGKILL by pid until none is left (bounded)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = e2e.processes_of_uid(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    lf.log(f"processes of uid {uid} survived the cleanup: {e2e.processes_of_uid(uid)}")


class StatusProbe:
    """Calls `lockboxctl status` as root in a loop; records every call that
    failed or did not answer within its timeout."""

    def __init__(self, sb):
        self.sb = sb
        self.stop = threading.Event()
        self.calls = 0
        self.failures = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                r = sc.ctl(self.sb, ["status"], user="root", timeout=5)
                if r.returncode != 0:
                    self.failures.append(f"exit {r.returncode}: {r.stderr.strip()}")
            except subprocess.TimeoutExpired:
                self.failures.append("no answer within 5 s")
            self.calls += 1
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=15)
        return False


def grant_for(sb, key, duration, ticket, engineer=sc.ENGINEER):
    r = sc.create_request(sb, key + ".pub", duration=duration, ticket=ticket, engineer=engineer)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, f"{who} approve: {r.stderr}"
    e2e.wait_for(lambda: e2e.getent("passwd", engineer) is not None, 10, f"{engineer} resolves")
    return rid


def start_stop_loop(sb, key, uid):
    """The loop left behind, and a long session it keeps stopped."""
    session = sb.ssh_spawn(sc.ENGINEER, key, "sleep 1000", stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 15, "the long session runs")
    stop_loop.start(sb, sc.ENGINEER, key, uid)
    return session


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def kill_one_session(sb, key):
    """(c): KillSession with the loop running inside the session it ends."""
    engineer = "kim"
    rid = grant_for(sb, key, "10m", "INC-1703", engineer=engineer)
    kim = int(e2e.getent("passwd", engineer).split(":")[2])
    cleanup_uids.append(kim)

    def sessions():
        return {x["id"]: x for x in sc.ctl_json(sb, ["session", "list"], user="root") if x["user"] == engineer}

    def running(command):
        return [p for p in e2e.processes_of_uid(kim) if cmdline_of(p) == command]

    stop_loop.write(sb, engineer, key)
    other = sb.ssh_spawn(engineer, key, "sleep 1003", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: running("sleep 1003"), 15, "kim's other session")
    before = set(sessions())
    victim = sb.ssh_spawn(engineer, key, "python3 stoploop.py & sleep 1004", stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: running("sleep 1004"), 15, "kim's session with the loop")
    stop_loop.wait_running(kim)
    new = set(sessions()) - before
    assert len(new) == 1, f"expected one new session, got {new}"
    victim_id = new.pop()
    with StatusProbe(sb) as probe:
        r = sc.ctl(sb, ["session", "kill", victim_id], user="root", timeout=30)
        assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: not running("sleep 1004") and not running("python3 stoploop.py"), GONE_WITHIN,
                     "the killed session's processes (the loop included) gone")
        time.sleep(1)
    assert probe.calls > 0, "lockboxctl status was never called"
    assert not probe.failures, f"lockboxctl status failed during the session kill: {probe.failures}"
    victim.wait(timeout=15)
    assert running("sleep 1003"), "killing one session ended the engineer's other session"
    assert victim_id not in sessions()
    r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "done"], user=sc.APPROVER)
    assert r.returncode == 0, r.stderr
    e2e.wait_for(lambda: not e2e.processes_of_uid(kim), GONE_WITHIN, "kim's processes gone after the revocation")
    other.wait(timeout=15)


cleanup_uids = []


def main():
    lf.enter_namespace()
    uid = None
    with e2e.E2ESandbox() as sb:
        try:
            sc.deploy(sb)
            key = sb.make_ssh_key("eve")

            step("(a) stop loop running, the approver revokes")
            rid = grant_for(sb, key, "10m", "INC-1701")
            uid = sc.engineer_uid()
            session = start_stop_loop(sb, key, uid)
            with StatusProbe(sb) as probe:
                t0 = time.monotonic()
                r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "stop loop"], user=sc.APPROVER)
                assert r.returncode == 0, r.stderr
                e2e.wait_for(lambda: not e2e.processes_of_uid(uid), GONE_WITHIN,
                             "every process of the engineer gone after the revocation")
                print(f"revocation: every process gone {1000 * (time.monotonic() - t0):.0f} ms "
                      f"after the revoke call", flush=True)
                time.sleep(1)  # status keeps answering once the kill is done, too
            assert probe.calls > 0, "lockboxctl status was never called"
            assert not probe.failures, f"lockboxctl status failed during the kill: {probe.failures}"
            session.wait(timeout=15)
            assert sc.request_state(sb, rid) == "revoked"

            step("(b) stop loop running, a grant expires")
            rid = grant_for(sb, key, "40s", "INC-1702")
            assert sc.engineer_uid() == uid, "a name keeps its uid"
            exp = parse_rfc3339(sc.ctl_json(sb, ["grant", "show", rid], user="root")["exp"])
            session = start_stop_loop(sb, key, uid)
            assert time.time() < exp - 2, "the grant ended before the loop ran: raise its duration"
            with StatusProbe(sb) as probe:
                lf.wait_until(lambda: time.time() >= exp, exp - time.time() + 10, what="grant end")
                e2e.wait_for(lambda: not e2e.processes_of_uid(uid), GONE_WITHIN,
                             "every process of the engineer gone after exp")
                print(f"expiry: every process gone {max(0.0, time.time() - exp) * 1000:.0f} ms after exp "
                      f"(poll 50 ms)", flush=True)
            assert probe.calls > 0, "lockboxctl status was never called"
            assert not probe.failures, f"lockboxctl status failed during the kill: {probe.failures}"
            session.wait(timeout=15)
            e2e.wait_for(lambda: sc.request_state(sb, rid) == "completed", 10, "request completed")
            assert e2e.getent("passwd", sc.ENGINEER) is None, "engineer still resolves after exp"

            step("(c) stop loop running inside one of two sessions, that session is killed")
            kill_one_session(sb, key)
        finally:
            for u in ([uid] if uid is not None else []) + cleanup_uids:
                kill_every_process_of(u)
    return 0


if __name__ == "__main__":
    sys.exit(main())

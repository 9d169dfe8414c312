#!/usr/bin/env python3
"""The engineer's own controls on a real sshd (issue 14, part 2).

1. Release from inside: rita, logged in with a pty, runs `lockboxctl grant
   release ID` in a second session of hers. Every session of hers dies at once,
   her terminal shows "Lockbox: access for ticket … ended (released by rita)"
   before the connection closes, the request reads `released`, and the audit
   has grant-released naming rita as the actor (approvald's record) and on the
   host. Another engineer cannot release it.
2. A terminal that does not drain does not delay the kill: nora's ssh client is
   stopped (SIGSTOP) while her session floods the pty, so sshd stops reading
   and the pty's buffer is full; a second session of hers has its output
   stopped with ^S. Her grant still ends on time: every process gone within
   KILL_BOUND of exp, and the other terminal got the last line ("expired")."""
import os
import signal
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from lockbox_time import parse_rfc3339

KILL_BOUND = 1.0  # s after exp; a blocking write would never return


def approve(sb, key, engineer, ticket, duration):
    r = sc.create_request(sb, key + ".pub", duration=duration, ticket=ticket, engineer=engineer)
    assert r.returncode == 0, f"request for {engineer}: {r.stderr}"
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, f"{who} approve: {r.stderr}"
    e2e.wait_for(lambda: e2e.getent("passwd", engineer) is not None, 10, f"{engineer} resolves")
    return rid


def uid_of(name):
    return int(e2e.getent("passwd", name).split(":")[2])


def release_from_inside(sb):
    key = sb.make_ssh_key("rita")
    rid = approve(sb, key, "rita", "INC-2001", "4m")
    uid = uid_of("rita")
    session = sb.ssh_spawn("rita", key, "sleep 1000", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 1, 10, "rita's session running")

    # Another engineer may not end it.
    olaf_key = sb.make_ssh_key("olaf")
    approve(sb, olaf_key, "olaf", "INC-2002", "4m")
    r = sb.ssh("olaf", olaf_key, f"lockboxctl grant release {rid}")
    assert r.returncode == 1 and "access denied" in r.stderr, f"olaf released rita's grant: {r}"
    assert sc.request_state(sb, rid) == "active"

    # The release kills the session it runs in too, possibly before lockboxctl
    # printed anything: what counts is what follows.
    started = time.monotonic()
    sb.ssh("rita", key, f"lockboxctl grant release {rid}")
    e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 10, "rita's processes gone")
    print(f"rita's processes gone {(time.monotonic() - started) * 1000:.0f} ms after the release was started")
    out, err = session.communicate(timeout=15)
    assert session.returncode != 0, "the session must end with an error"
    shown = out.decode(errors="replace")
    if "Lockbox: access for ticket INC-2001 ended (released by rita)" not in shown:
        logs = sb.daemons["lockboxd"].log_text()[-3000:]
        raise AssertionError(f"no last line on rita's terminal: {shown!r}\nlockboxd: {logs}")
    assert sc.request_state(sb, rid) == "released"
    released = sb.journal(match={"LOCKBOX_EVENT": "grant-released", "LOCKBOX_REQUEST_ID": rid}, expect=2, timeout=10)
    by_source = {e.get("SYSLOG_IDENTIFIER"): e for e in released}
    assert by_source["lockbox-approvald"].get("LOCKBOX_ACTOR") == "rita", released
    assert "rita" in by_source["lockboxd"].get("LOCKBOX_REASON", ""), released
    assert not sb.journal(match={"LOCKBOX_EVENT": "grant-revoked", "LOCKBOX_REQUEST_ID": rid})
    assert sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": rid}, expect=1, timeout=10)
    assert e2e.getent("passwd", "rita") is None, "rita still resolves after the release"
    r = sb.ssh("rita", key, "true")
    assert r.returncode == 255, "ssh after the release must be refused"


def stuck_terminal(sb):
    key = sb.make_ssh_key("nora")
    rid = approve(sb, key, "nora", "INC-2003", "25s")
    uid = uid_of("nora")
    exp = parse_rfc3339(sc.ctl_json(sb, ["grant", "show", rid], user="root")["exp"])
    # The flood: its client stopped, sshd stops reading the pty, `yes` fills it.
    flood = sb.ssh_spawn("nora", key, "yes lockbox-flood", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 1, 10, "the flood running")
    time.sleep(1)
    os.kill(flood.pid, signal.SIGSTOP)
    # ^S from the engineer: the pty's output is stopped (IXON), nothing drains.
    stopped = sb.ssh_spawn("nora", key, "stty ixon; sleep 1000", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    # A terminal that drains: it must still get the line.
    watcher = sb.ssh_spawn("nora", key, "sleep 1000", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 3, 10, "nora's three sessions running")
    time.sleep(1)
    stopped.stdin.write(b"\x13")
    stopped.stdin.flush()
    try:
        lf.wait_until(lambda: time.time() >= exp - 0.5, exp - time.time() + 5, what="grant end near")
        e2e.wait_for(lambda: not e2e.processes_of_uid(uid), exp - time.time() + 10, "nora's processes gone")
        late = time.time() - exp
        print(f"with a full and a stopped terminal: nora's processes gone {late * 1000:.0f} ms after exp "
              "(poll 50 ms)")
        assert late <= KILL_BOUND, f"the kill ended {late:.3f} s after exp: a terminal held it up"
    finally:
        os.kill(flood.pid, signal.SIGCONT)
    killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": rid}, expect=1, timeout=10)
    delays = [int(e["LOCKBOX_DELAY_MS"]) for e in killed if "LOCKBOX_DELAY_MS" in e]
    assert delays and max(delays) <= KILL_BOUND * 1000, delays
    out, _ = watcher.communicate(timeout=15)
    assert "Lockbox: access for ticket INC-2003 ended (expired)" in out.decode(errors="replace"), repr(out[-400:])
    for p in (flood, stopped):
        try:
            p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        release_from_inside(sb)
        stuck_terminal(sb)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

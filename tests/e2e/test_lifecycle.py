#!/usr/bin/env python3
"""The whole lifecycle on a real sshd with a real ssh client and real keys.

Refused before approval; the stages in order (approver before manager refused);
access within a second of the final approval; at exp every session and process of
the engineer (a setsid/nohup escapee included) dies, the name stops resolving,
new logins are refused and the request shows `completed`. The session's
terminal got the expiry warning (WarnBefore=5s in the scenario) before the end."""
import os
import pwd
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from lockbox_time import parse_rfc3339


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        key = sb.make_ssh_key("eve")

        # 0. The daemons run with what their units give them, as on a host.
        approval_uid = pwd.getpwnam("lockbox-approval").pw_uid
        status = proc_status(sb.daemons["lockbox-approvald"].pid)
        assert status["Uid"].split()[:2] == [str(approval_uid)] * 2, status["Uid"]
        assert int(status["CapEff"], 16) == 0, status["CapEff"]
        status = proc_status(sb.daemons["lockboxd"].pid)
        assert status["Uid"].split()[0] == "0", status["Uid"]
        # CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID, SYS_NICE: the unit's set.
        assert int(status["CapBnd"], 16) == (1 << 0 | 1 << 1 | 1 << 3 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 23), \
            status["CapBnd"]

        # 1. Refused, and the name does not resolve.
        assert e2e.getent("passwd", sc.ENGINEER) is None, "engineer resolves before any grant"
        r = sb.ssh(sc.ENGINEER, key, "true")
        assert r.returncode == 255, f"ssh before approval: {r.returncode} {r.stderr}"

        # 2. Request, approval stages in order.
        r = sc.create_request(sb, key + ".pub", duration="20s")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        assert rid and "\n" not in rid, repr(r.stdout)
        assert sc.request_state(sb, rid) == "pending-manager"

        r = sc.ctl(sb, ["request", "approve", rid], user=sc.APPROVER)
        assert r.returncode == 1, f"approver before manager must be refused: {r.returncode} {r.stdout}"
        assert r.stderr.strip(), "a refusal names its reason"
        assert sc.request_state(sb, rid) == "pending-manager"

        r = sc.ctl(sb, ["request", "approve", rid], user=sc.CREATOR)
        assert r.returncode == 1, "the creator must not approve their own request"

        r = sc.ctl(sb, ["request", "approve", rid], user=sc.MANAGER)
        assert r.returncode == 0, r.stderr
        assert sc.request_state(sb, rid) == "pending-approver"
        r = sb.ssh(sc.ENGINEER, key, "true")
        assert r.returncode == 255, "ssh must stay refused after the manager stage alone"

        r = sc.ctl(sb, ["request", "approve", rid], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        approved_at = time.monotonic()

        # 3. Within a second the name resolves; ssh runs a command.
        e2e.wait_for(lambda: e2e.getent("passwd", sc.ENGINEER) is not None, 5, "engineer resolves")
        resolve_delay = time.monotonic() - approved_at
        print(f"name resolved {resolve_delay * 1000:.0f} ms after the final approval")
        assert resolve_delay <= 1.0, f"resolution took {resolve_delay:.3f}s"
        uid = sc.engineer_uid()
        assert 2100000000 <= uid <= 2100099999, uid
        r = sb.ssh(sc.ENGINEER, key, "id -un")
        assert r.returncode == 0 and r.stdout.strip() == sc.ENGINEER, f"{r.returncode} {r.stdout} {r.stderr}"

        grant = sc.ctl_json(sb, ["grant", "show", rid], user="root")
        exp = parse_rfc3339(grant["exp"])

        # A long session that also leaves an escaped process behind.
        long_session = sb.ssh_spawn(sc.ENGINEER, key,
                                    "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 10, "engineer processes running")

        # 4. At exp everything dies.
        lf.wait_until(lambda: time.time() >= exp - 0.5, exp - time.time() + 5, what="grant end near")
        e2e.wait_for(lambda: not e2e.processes_of_uid(uid), exp - time.time() + 10,
                     "engineer processes gone")
        gone_at = time.time()
        print(f"last engineer process gone {max(0.0, gone_at - exp) * 1000:.0f} ms after exp (poll 50 ms)")
        out, err = long_session.communicate(timeout=15)
        assert long_session.returncode != 0, "the long session must end with an error"
        assert "closed" in err.decode(errors="replace").lower(), err
        # The kill is audited with what it ended and how late, even though sshd
        # closes the PAM session (CloseSession) while the kill is still running.
        killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": rid},
                            expect=1, timeout=10)
        assert killed and killed[0].get("LOCKBOX_PIDS") and "LOCKBOX_DELAY_MS" in killed[0], killed
        # lockboxd wrote the warning to the session's pty, so the ssh client shows it.
        shown = out.decode(errors="replace")
        assert f"Lockbox: your access (grant {rid}) ends in 5 seconds" in shown, repr(shown)
        assert e2e.getent("passwd", sc.ENGINEER) is None, "engineer still resolves after exp"
        r = sb.ssh(sc.ENGINEER, key, "true")
        assert r.returncode == 255, "ssh after exp must be refused"
        e2e.wait_for(lambda: sc.request_state(sb, rid) == "completed", 5, "request completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Attack (issue 17, item 1): the engineer blinds lockboxd with a forged
NameOwnerChanged, then the approver revokes the grant.

Logged in over ssh, the engineer asks the bus driver for the unique names of
lockboxd and lockbox-approvald and sends lockboxd a unicast
org.freedesktop.DBus.NameOwnerChanged saying org.lockbox.Approval1 lost its
owner (`busctl emit --destination=...`), as the issue describes. dbus-daemon
delivers a unicast signal whatever the receiver's match says about its sender.
The revocation that follows must still end the engineer's session and every
process at once: lockboxd believes owner changes only from the bus driver, and
confirms them with GetNameOwner. The refused signal is audited
(`bus-signal-forged`) with the sender's unique name and uid."""
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

# Not the scenario's "eve": engineer uids are a hash of the name, and other
# sandboxes on the same machine (no pid namespace) may be killing eve's uid.
ENGINEER = "evforge"

# Run by the engineer on the host: their own bus messages, nothing privileged.
FORGE = r"""
set -e
owner() {
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetNameOwner s "$1" | cut -d'"' -f2
}
enforcer=$(owner org.lockbox.Enforcer1)
approval=$(owner org.lockbox.Approval1)
busctl --system emit --destination="$enforcer" /org/freedesktop/DBus org.freedesktop.DBus \
    NameOwnerChanged sss org.lockbox.Approval1 "$approval" ""
echo "forged $enforcer $approval"
"""


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        key = sb.make_ssh_key(ENGINEER)
        # Long enough that only the revocation can end it during the test.
        r = sc.create_request(sb, key + ".pub", duration="30m", engineer=ENGINEER, ticket="INC-1701")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("passwd", ENGINEER) is not None, 15, "engineer resolves")
        uid = int(e2e.getent("passwd", ENGINEER).split(":")[2])

        session = sb.ssh_spawn(ENGINEER, key, "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 15, "engineer processes running")

        # The attack, as the engineer.
        r = sb.ssh(ENGINEER, key, FORGE, timeout=60)
        assert r.returncode == 0 and r.stdout.startswith("forged :"), f"{r.returncode} {r.stdout} {r.stderr}"
        print(r.stdout.strip())
        # A call through lockboxd after the forged signal reached the bus: lockboxd
        # reads its one connection in order, so by this reply it has seen the signal.
        status = sc.ctl_json(sb, ["status"], user="root")
        print(f"lockboxd status after the forged signal: {status}")

        # The approver revokes: the session and every process must end.
        started = time.monotonic()
        r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "engineer misbehaved"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        try:
            gone = e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 60, "engineer processes gone")
            print(f"last engineer process gone {(gone - started) * 1000:.0f} ms after lockboxctl grant revoke "
                  "started (poll 50 ms)")
        except TimeoutError:
            raise AssertionError(f"engineer processes still alive 60 s after the revocation "
                                 f"(forged NameOwnerChanged blinded lockboxd): {e2e.processes_of_uid(uid)}")
        session.wait(timeout=30)
        killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": rid},
                            expect=1, timeout=15)
        assert killed, "the kill was not audited"
        assert e2e.getent("passwd", ENGINEER) is None, "engineer still resolves after the revocation"
        r = sb.ssh(ENGINEER, key, "true")
        assert r.returncode == 255, f"ssh after the revocation: {r.returncode} {r.stderr}"

        # The forged signal was refused and audited with who sent it.
        forged = sb.journal(match={"LOCKBOX_EVENT": "bus-signal-forged"}, expect=1, timeout=15)
        mine = [e for e in forged if e.get("LOCKBOX_SIGNAL") == "NameOwnerChanged"]
        assert mine, f"no bus-signal-forged for NameOwnerChanged: {forged}"
        assert mine[0].get("LOCKBOX_SENDER", "").startswith(":"), mine[0]
        # Asked of the bus after the fact: busctl may have left by then (the uid
        # is unknown), but it is never someone else's.
        assert mine[0].get("LOCKBOX_SENDER_UID") in (None, str(uid)), mine[0]
        assert mine[0].get("SYSLOG_IDENTIFIER") == "lockboxd", mine[0]
        # And it did not make lockboxd think the approval service was gone.
        assert status.get("approval_service") == "reachable", status
    return 0


if __name__ == "__main__":
    sys.exit(main())

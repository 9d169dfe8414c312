#!/usr/bin/env python3
"""Attack: damaged enforcer.db with an engineer logged in.

lockboxd's store is damaged (its first page overwritten and its write-ahead
log lost, as a disk fault would leave it) while lockboxd is down and an engineer has live
processes. lockboxd must still start and enforce: every process in the lockbox
uid range ends, the damaged file is kept beside the new one, the event is
audited (state-damaged), and access comes back only through the approval
service's resync, for a grant that is still valid: eve's grant lives and she
is admitted again; frank's was revoked while lockboxd was down and he is not.

The sandbox uses a uid range of its own so that the range-wide kill cannot reach
engineers of other sandboxes on the same machine (no pid namespace)."""
import glob
import hashlib
import os
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

UID_MIN, UID_MAX = 2000000000, 2000009999
DB = "/var/lib/lockbox/enforcer/enforcer.db"


def grant(sb, engineer, key, ticket):
    r = sc.create_request(sb, key + ".pub", duration="10m", ticket=ticket, engineer=engineer)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, r.stderr
    e2e.wait_for(lambda: e2e.getent("passwd", engineer) is not None, 10, f"{engineer} resolves")
    return rid


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb, accounts={"Accounts": {"UIDMin": str(UID_MIN), "UIDMax": str(UID_MAX)}})
        key = sb.make_ssh_key("eve")
        frank_key = sb.make_ssh_key("frank")
        grant(sb, sc.ENGINEER, key, "INC-6006")
        frank_rid = grant(sb, "frank", frank_key, "INC-6007")
        uid = sc.engineer_uid()
        frank_uid = int(e2e.getent("passwd", "frank").split(":")[2])
        assert UID_MIN <= uid <= UID_MAX and UID_MIN <= frank_uid <= UID_MAX, (uid, frank_uid)

        session = sb.ssh_spawn(sc.ENGINEER, key, "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        frank_session = sb.ssh_spawn("frank", frank_key, "sleep 1000", stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2 and e2e.processes_of_uid(frank_uid), 20,
                     "engineer processes running")
        victims = set(e2e.processes_of_uid(uid)) | set(e2e.processes_of_uid(frank_uid))

        # lockboxd goes down; frank's grant is revoked meanwhile (the approval
        # service keeps that); the store is damaged.
        sb.kill_daemon(sb.daemons["lockboxd"])
        r = sc.ctl(sb, ["grant", "revoke", frank_rid, "--reason", "revoked while lockboxd was down"],
                   user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        # The first page overwritten and the write-ahead log lost (with the
        # log intact SQLite would read every page from it and never see the
        # damage).
        with open(DB, "r+b") as f:
            f.write(b"\xde\xad\xbe\xef" * 1024)
        if os.path.exists(DB + "-wal"):
            os.truncate(DB + "-wal", 0)
        with open(DB, "rb") as f:
            damaged_digest = hashlib.sha256(f.read()).hexdigest()

        try:
            sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
        except RuntimeError as e:
            raise AssertionError(f"lockboxd did not start with a damaged enforcer.db: {e}") from None
        started = time.monotonic()

        e2e.wait_for(lambda: not e2e.processes_of_uid(uid) and not e2e.processes_of_uid(frank_uid), 30,
                     "every engineer process gone")
        print(f"engineer processes gone {1000 * (time.monotonic() - started):.0f} ms after lockboxd was started")
        session.wait(timeout=30)
        frank_session.wait(timeout=30)

        kept = [p for p in glob.glob(DB + ".damaged-*") if not p.endswith(("-wal", "-shm"))]
        assert len(kept) == 1, f"damaged store not kept: {os.listdir(os.path.dirname(DB))}"
        with open(kept[0], "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == damaged_digest, "the kept file is not the damaged one"
        assert os.stat(kept[0]).st_mode & 0o077 == 0, "the kept store must stay private"

        entries = sb.journal(match={"LOCKBOX_EVENT": "state-damaged"}, expect=1, timeout=15)
        assert len(entries) == 1, entries
        e = entries[0]
        assert e.get("LOCKBOX_MOVED_TO") == kept[0], e
        assert set(e.get("LOCKBOX_UIDS", "").split()) >= {str(uid), str(frank_uid)}, e
        assert victims <= {int(p) for p in e.get("LOCKBOX_PIDS", "").split()}, (victims, e)

        # Access comes back through the resync for the grant that is still valid.
        def admitted(engineer, k):
            r = sb.ssh(engineer, k, "echo back")
            return r.returncode == 0 and "back" in r.stdout
        e2e.wait_for(lambda: admitted(sc.ENGINEER, key), 30, "eve admitted after the resync")
        assert not admitted("frank", frank_key), "a grant revoked while lockboxd was down admitted frank"
        assert e2e.getent("passwd", "frank") is None, "frank still resolves"
        print("damaged store kept as", os.path.basename(kept[0]), "; eve re-admitted after resync, frank refused")

        # The store deleted while eve is logged in: the uid map is gone, so
        # the same fail-closed start applies.
        session = sb.ssh_spawn(sc.ENGINEER, key, "sleep 1000", stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        e2e.wait_for(lambda: e2e.processes_of_uid(uid), 20, "eve's new session")
        sb.kill_daemon(sb.daemons["lockboxd"])
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(DB + suffix):
                os.unlink(DB + suffix)
        sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
        e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 30, "eve's processes gone after the store was deleted")
        session.wait(timeout=30)
        entries = sb.journal(match={"LOCKBOX_EVENT": "state-damaged"}, expect=2, timeout=15)
        assert "was missing" in entries[-1].get("LOCKBOX_REASON", ""), entries[-1]
        assert str(uid) in entries[-1].get("LOCKBOX_UIDS", "").split(), entries[-1]
        e2e.wait_for(lambda: admitted(sc.ENGINEER, key), 30, "eve admitted after the resync")
        print("deleted store: eve's processes ended, audited, eve re-admitted after resync")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Attack (issue 17, item 7): a signing key is compromised and the admin
withdraws it while an engineer is logged in with a grant it signed.

Part 1, the change lockboxd sees by itself: the admin deletes the public key from
trusted.d. Part 2, the change only `systemctl reload lockboxd` (SIGHUP) brings
in: [Keys] TrustedDir is a symlink that configuration management re-points to
another directory, which an inotify watch on the old directory cannot see.
Each time the engineer's session and every process end at once, the grant is
audited `grant-untrusted` and the key change `trusted-keys-changed`, the name
stops resolving and ssh refuses the engineer's key."""
import os
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

# Not the scenario's "eve": engineer uids are a hash of the name, and other
# sandboxes on the same machine (no pid namespace) may be killing eve's uid.
ENGINEER = "evkey"

TRUSTED_LINK = "/etc/lockbox/trusted-current"


def live_session(sb, key, uid):
    proc = sb.ssh_spawn(ENGINEER, key, "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 20, "engineer processes running")
    return proc


def expect_access_ended(sb, key, uid, jti, session, what, started):
    try:
        gone = e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 60, "engineer processes gone")
        print(f"last engineer process gone {(gone - started) * 1000:.0f} ms after {what} (poll 50 ms)")
    except TimeoutError:
        raise AssertionError(f"engineer processes still alive 60 s after {what}: {e2e.processes_of_uid(uid)}")
    session.wait(timeout=30)
    untrusted = sb.journal(match={"LOCKBOX_EVENT": "grant-untrusted", "LOCKBOX_REQUEST_ID": jti},
                           expect=1, timeout=15)
    assert untrusted and untrusted[0].get("LOCKBOX_ENGINEER") == ENGINEER, untrusted
    killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": jti},
                        expect=1, timeout=15)
    assert killed, f"the kill after {what} was not audited"
    assert e2e.getent("passwd", ENGINEER) is None, f"engineer still resolves after {what}"
    r = sb.ssh(ENGINEER, key, "true")
    assert r.returncode == 255, f"ssh after {what}: {r.returncode} {r.stderr}"
    grant = sc.ctl_json(sb, ["grant", "show", jti, "--source", "enforcer"], user="root")
    assert grant["state"] == "revoked", grant


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        os.makedirs("/etc/lockbox", exist_ok=True)
        os.symlink("trusted.d", TRUSTED_LINK)
        sc.deploy(sb, policy={"Keys": {"TrustedDir": TRUSTED_LINK}})
        key = sb.make_ssh_key(ENGINEER)

        # Part 1: the public key is deleted from the trusted directory.
        r = sc.create_request(sb, key + ".pub", duration="30m", engineer=ENGINEER, ticket="INC-1702")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("passwd", ENGINEER) is not None, 15, "engineer resolves")
        uid = int(e2e.getent("passwd", ENGINEER).split(":")[2])
        session = live_session(sb, key, uid)
        started = time.monotonic()
        os.unlink(sb.keys["signing"]["public"])
        expect_access_ended(sb, key, uid, rid, session, "the key was deleted from trusted.d", started)
        changed = sb.journal(match={"LOCKBOX_EVENT": "trusted-keys-changed"}, expect=1, timeout=15)
        assert changed[-1].get("LOCKBOX_KEYS_REMOVED") == sb.keys["signing"]["kid"], changed[-1]
        assert sc.ctl_json(sb, ["status"], user="root")["trusted_keys"] == 0

        # Part 2: rotation through a re-pointed symlink, then a reload.
        keygen = os.path.join(sb.dir, "keygen-2025")
        r = subprocess.run(["lockboxctl", "key", "generate", "--out", keygen], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        kid2 = r.stdout.strip()
        os.makedirs("/etc/lockbox/trusted-2025", mode=0o755)
        subprocess.run(["install", "-m", "0644", os.path.join(keygen, "signing.public"),
                        "/etc/lockbox/trusted-2025/approval-2025.public"], check=True)
        lockboxd_pid = sb.daemons["lockboxd"].pid

        def repoint(target):
            tmp = TRUSTED_LINK + ".new"
            os.symlink(target, tmp)
            os.rename(tmp, TRUSTED_LINK)

        def reload_and_wait(keys):
            before = len(sb.journal(match={"LOCKBOX_EVENT": "trusted-keys-changed"}))
            started = time.monotonic()
            os.kill(lockboxd_pid, 1)  # SIGHUP, what `systemctl reload lockboxd` sends
            sb.journal(match={"LOCKBOX_EVENT": "trusted-keys-changed"}, expect=before + 1, timeout=30)
            assert sc.ctl_json(sb, ["status"], user="root")["trusted_keys"] == keys
            return started

        repoint("trusted-2025")
        reload_and_wait(1)
        with open(key + ".pub") as f:
            ssh_key = f.read().strip()
        token = subprocess.run([lf.build_path("tests/lockboxd/make_grant"), "--key",
                                os.path.join(keygen, "signing.secret"), "--sub", ENGINEER,
                                "--tenant", sc.TENANT, "--host", sc.HOST, "--nbf", "-1", "--exp", "1800",
                                "--ticket", "INC-1703", "--ssh-key", ssh_key],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        r = subprocess.run(["lockboxctl", "grant", "import", "-"], input=token + "\n", capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        jti2 = r.stdout.strip()
        e2e.wait_for(lambda: e2e.getent("passwd", ENGINEER) is not None, 15, "engineer resolves again")
        session = live_session(sb, key, uid)
        # The new key set has no 2025 key; the watch on trusted-2025 sees nothing.
        repoint("trusted.d")
        started = reload_and_wait(0)
        expect_access_ended(sb, key, uid, jti2, session, "the reload", started)
        changed = sb.journal(match={"LOCKBOX_EVENT": "trusted-keys-changed"})
        assert changed[-1].get("LOCKBOX_KEYS_REMOVED") == kid2, changed[-1]
        assert changed[-1].get("LOCKBOX_TRIGGER") == "reload", changed[-1]
    return 0


if __name__ == "__main__":
    sys.exit(main())

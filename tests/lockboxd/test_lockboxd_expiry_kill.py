#!/usr/bin/env python3
"""The thin path end to end, and the kill at expiry and at revocation:
import a grant -> verified -> NSS cache written -> CheckAccess allows ->
OpenSession -> a real process tree (setsid-escaped grandchild, a child that
keeps forking and ignores SIGTERM) running as the engineer's uid is gone
(by /proc state) right after exp; the same after `grant revoke --local`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockboxd_test_support as t  # noqa: E402


def main(sb, uids):
    t.setup_world(sb)
    d = t.start_lockboxd(sb)

    # Expiry: a window of a few seconds.
    token = t.make_grant(sb, "eng", nbf=-1, exp=5)
    r = t.import_grant(sb, token)
    jti = r.stdout.strip()
    uid = t.uid_of(sb, jti)
    uids.append(uid)
    t.expect(t.UID_MIN <= uid <= t.UID_MAX, f"uid {uid} outside the lockbox range")
    allowed, reason = t.check_access(sb, "eng")
    t.expect(allowed and reason == "allowed", f"CheckAccess: {allowed} {reason}")
    t.expect(os.path.getsize(os.path.join(sb.dir, "run", "nss.cache")) > 0, "NSS cache not written")
    keys = sb.ctl(["authorized-keys", "eng"], check=True).stdout
    t.expect(keys.startswith('restrict,pty,expiry-time="') and 'Z" ssh-ed25519 ' in keys, f"keys: {keys!r}")
    t.expect(sb.ctl(["authorized-keys", "nosuchuser"], check=True).stdout == "", "keys for a stranger")
    t.expect(os.stat(os.path.join(sb.dir, "home", "eng")).st_uid == uid, "home not owned by the engineer")

    leader = t.spawn_tree(sb, uid)
    sid = t.open_session(sb, "eng", leader.pid)
    t.expect(len(sid) == 32, f"session id {sid!r}")
    t.wait_gone(uid, timeout=20)
    allowed, reason = t.check_access(sb, "eng")
    t.expect(not allowed and reason == "expired", f"after exp: {allowed} {reason}")
    killed = sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": jti}, expect=1)
    t.expect(killed[0].get("LOCKBOX_SESSION_ID") == sid and killed[0].get("LOCKBOX_PIDS"),
             f"session-killed entry: {killed[0]}")
    t.expect(not os.path.exists(os.path.join(sb.dir, "home", "eng")), "home left behind")
    sb.journal(match={"LOCKBOX_EVENT": "grant-completed", "LOCKBOX_REQUEST_ID": jti}, expect=1)
    sb.journal(match={"LOCKBOX_EVENT": "access-allowed", "LOCKBOX_REQUEST_ID": jti}, expect=1)

    # Revocation (local, as on an offline host): kills at once.
    token2 = t.make_grant(sb, "eng2", nbf=-1, exp=600)
    jti2 = t.import_grant(sb, token2).stdout.strip()
    uid2 = t.uid_of(sb, jti2)
    uids.append(uid2)
    t.spawn_tree(sb, uid2)
    r = sb.ctl(["grant", "revoke", jti2, "--reason", "test over", "--local"])
    t.expect(r.returncode == 0, f"revoke: {r.stderr}")
    t.wait_gone(uid2, timeout=20)
    allowed, reason = t.check_access(sb, "eng2")
    t.expect(not allowed and reason == "revoked", f"after revoke: {allowed} {reason}")
    r = t.import_grant(sb, token2, check=False)
    t.expect(r.returncode == 1 and "revoked" in r.stderr, f"re-import of a revoked grant: {r.returncode} {r.stderr}")
    sb.journal(match={"LOCKBOX_EVENT": "grant-refused", "LOCKBOX_REQUEST_ID": jti2}, expect=1)

    # Refusals are audited with the reason.
    bad = t.make_grant(sb, "eng3", hosts=("db99",))
    r = t.import_grant(sb, bad, check=False)
    t.expect(r.returncode == 1 and "wrong-host" in r.stderr, f"wrong host import: {r.stderr}")
    entries = sb.journal(match={"LOCKBOX_EVENT": "grant-refused", "LOCKBOX_REASON": "wrong-host"}, expect=1)
    t.expect(entries, "no grant-refused entry")
    sb.stop_daemon(d)


if __name__ == "__main__":
    t.run(main)

#!/usr/bin/env python3
"""lockboxd reads its trusted keys again (issue 17, item 7).

Two trusted keys, a grant signed by each, a process tree per engineer.
1. SIGHUP with nothing changed: the keys are read, nothing is dropped.
2. One key file is deleted: inotify alone makes lockboxd drop that key's grant
   and kill its engineer (grant-untrusted, trusted-keys-changed); the other
   engineer is untouched.
3. The directory becomes writable by others (seen by inotify too): nothing in
   it can be trusted, so the other grant goes too. Made safe again, the key is
   trusted again, but the grants it signed stay revoked."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402


def trusted_keys(sb):
    return json.loads(sb.ctl(["status", "--json"], check=True).stdout)["trusted_keys"]


def main(sb, uids):
    t.setup_world(sb)
    second = sb.make_keys("second")
    d = t.start_lockboxd(sb)
    t.expect(trusted_keys(sb) == 2, f"{trusted_keys(sb)} trusted keys")
    a = t.import_grant(sb, t.make_grant(sb, "tkeya", exp=600)).stdout.strip()
    b = t.import_grant(sb, t.make_grant(sb, "tkeyb", exp=600, key="second")).stdout.strip()
    uid_a, uid_b = t.uid_of(sb, a), t.uid_of(sb, b)
    uids += [uid_a, uid_b]
    t.spawn_tree(sb, uid_a)
    t.spawn_tree(sb, uid_b)

    # 1. A reload that changes nothing.
    os.kill(d.pid, signal.SIGHUP)
    lf.wait_until(lambda: "trusted keys read again (reload): 2, unchanged" in d.log_text(), 15,
                  what="the reload")
    t.expect(t.grants(sb)[a]["state"] == "active" and t.grants(sb)[b]["state"] == "active", "a grant was dropped")

    # 2. The second key's file is deleted.
    os.unlink(os.path.join(second["trusted_dir"], "second.public"))
    t.wait_gone(uid_b, timeout=20)
    t.expect(t.grants(sb)[b]["state"] == "revoked", f"B is {t.grants(sb)[b]['state']}")
    dropped = sb.journal(match={"LOCKBOX_EVENT": "grant-untrusted", "LOCKBOX_REQUEST_ID": b}, expect=1, timeout=15)
    t.expect(dropped[0].get("LOCKBOX_KID") == second["kid"] and
             dropped[0].get("LOCKBOX_TRIGGER") == "directory-changed", dropped[0])
    changed = sb.journal(match={"LOCKBOX_EVENT": "trusted-keys-changed"}, expect=1, timeout=15)
    t.expect(changed[-1].get("LOCKBOX_KEYS_REMOVED") == second["kid"], changed[-1])
    t.expect(len(t.live_pids(uid_a)) >= 5, "the other key's engineer was touched")
    allowed, reason = t.check_access(sb, "tkeyb")
    t.expect(not allowed and reason == "revoked", reason)

    # 3. Anyone could write a key into the directory now: trust none.
    os.chmod(second["trusted_dir"], 0o777)
    try:
        t.wait_gone(uid_a, timeout=20)
        t.expect(trusted_keys(sb) == 0, f"{trusted_keys(sb)} keys trusted in a world-writable directory")
    finally:
        os.chmod(second["trusted_dir"], 0o755)
    os.kill(d.pid, signal.SIGHUP)
    lf.wait_until(lambda: trusted_keys(sb) == 1, 15, what="the key trusted again after the reload")
    t.expect(t.grants(sb)[a]["state"] == "revoked", "a grant came back with its key")


if __name__ == "__main__":
    t.run(main)

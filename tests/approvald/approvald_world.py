"""What the approvald integration tests share: the cast of users and groups, a
sandbox with journald, the bus, keys, config and lockbox-approvald, and small
helpers over lockboxctl. Built on tests/lib/lockbox_fixture.py."""
import base64
import json
import os
import subprocess
import time

import lockbox_fixture as lf

GROUPS = {"lockbox-engineers": 2990, "lockbox-managers": 2991, "lockbox-approvers": 2992}
USERS = {
    # name: (uid, groups)
    "eve": (2901, ["lockbox-engineers"]),          # the engineer
    "mallory": (2902, ["lockbox-engineers"]),      # another engineer
    "alice": (2903, ["lockbox-managers"]),         # support manager
    "bob": (2904, ["lockbox-approvers"]),          # customer approver
    "carol": (2905, ["lockbox-managers", "lockbox-approvers"]),
    "oscar": (2906, []),                           # a local user with no role
}
APPROVAL = "approvald/lockbox-approvald"
BUS_NAME = "org.lockbox.Approval1"


def setup(sb, config=None):
    """Users, journald, bus, keys and config; returns the key info."""
    for name, gid in GROUPS.items():
        sb.add_group(name, gid)
    for name, (uid, groups) in USERS.items():
        sb.add_user(name, uid, groups=groups)
    sb.start_journald()
    sb.start_dbus()
    keys = sb.make_keys(name="signing")
    sections = {"Policy": {"MaxGrant": "4h"}}
    for section, values in (config or {}).items():
        sections.setdefault(section, {}).update(values)
    sb.write_config(sections)
    # An engineer's public key file, readable by every test user.
    key_dir = os.path.join(sb.dir, "eve-ssh")
    os.makedirs(key_dir, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "eve@laptop",
                    "-f", os.path.join(key_dir, "id_ed25519")], check=True, timeout=30)
    os.chmod(key_dir, 0o755)
    os.chmod(os.path.join(key_dir, "id_ed25519.pub"), 0o644)
    keys["ssh_public"] = os.path.join(key_dir, "id_ed25519.pub")
    return keys


def start(sb):
    return sb.start_daemon(APPROVAL, bus_name=BUS_NAME)


def restart(sb, daemon):
    rc = sb.stop_daemon(daemon)
    assert rc == 0, f"lockbox-approvald exited {rc} on SIGTERM:\n{daemon.log_text()}"
    return start(sb)


def create(sb, keys, user="eve", extra=(), duration="2h", check=True):
    args = ["request", "create", "--tenant", "contoso", "--ticket", "INC-4711",
            "--host", "db01", "--host", "db02", "--duration", duration,
            "--reason", "disk full on db01", "--ssh-key", keys["ssh_public"]] + list(extra)
    r = sb.ctl(args, user=user)
    if check:
        assert r.returncode == 0, f"create as {user} failed ({r.returncode}): {r.stderr}"
        lines = r.stdout.splitlines()
        assert len(lines) == 1, f"create printed more than the id: {r.stdout!r}"
        return lines[0]
    return r


def show(sb, rid, user="root"):
    r = sb.ctl(["request", "show", rid, "--json"], user=user)
    assert r.returncode == 0, f"show {rid} as {user} failed: {r.stderr}"
    return json.loads(r.stdout)


def expect_refused(sb, args, user, needle, code=1):
    r = sb.ctl(args, user=user)
    assert r.returncode == code, \
        f"lockboxctl {' '.join(args)} as {user}: expected exit {code}, got {r.returncode}\n{r.stdout}{r.stderr}"
    assert needle in r.stderr, f"stderr of {' '.join(args)} as {user} lacks {needle!r}: {r.stderr!r}"
    assert r.stdout == "", f"a refused command printed results: {r.stdout!r}"
    return r


def events(sb, rid, expect=None):
    entries = sb.journal(match={"LOCKBOX_REQUEST_ID": rid}, expect=expect)
    return [(e.get("LOCKBOX_EVENT"), e.get("LOCKBOX_ACTOR")) for e in entries]


def wait_for_event(sb, rid, event, timeout=15):
    found = []

    def seen():
        found[:] = [e for e in sb.journal(match={"LOCKBOX_REQUEST_ID": rid, "LOCKBOX_EVENT": event})]
        return bool(found)
    lf.wait_until(seen, timeout, interval=0.2, what=f"{event} for {rid} in the journal")
    return found


def token_claims(token):
    """The payload of a v4.public token (no verification: the enforcer's tests do that)."""
    assert token.startswith("v4.public."), token
    body = token.split(".")[2]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(raw[:-64])  # message || 64-byte Ed25519 signature


def bounded_sleep(seconds):
    assert seconds <= 10
    time.sleep(seconds)

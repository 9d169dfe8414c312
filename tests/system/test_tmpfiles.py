#!/usr/bin/env python3
"""lockbox.sysusers and lockbox.tmpfiles, applied to an empty root with
systemd-sysusers --root / systemd-tmpfiles --root, create the accounts and
directories docs/design.md §3 and the units expect, with the owners and modes the
operator guide documents.

usage: test_tmpfiles.py LOCKBOX_SYSUSERS LOCKBOX_TMPFILES
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

SKIP = 77
# path: (mode, owner name)
EXPECTED = {
    "etc/lockbox": (0o755, "root"),
    "etc/lockbox/trusted.d": (0o755, "root"),
    "etc/lockbox/private": (0o700, "lockbox-approval"),
    "var/lib/lockbox": (0o755, "root"),
    "var/lib/lockbox/approval": (0o700, "lockbox-approval"),
    "var/lib/lockbox/enforcer": (0o700, "root"),
    "var/lib/lockbox/home": (0o711, "root"),
    "run/lockbox": (0o755, "root"),
    "run/tlog": (0o1733, "root"),
}
passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def users_in(root):
    users = {"root": 0}
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            fields = line.split(":")
            users[fields[0]] = int(fields[2])
    groups = {}
    with open(os.path.join(root, "etc/group")) as f:
        for line in f:
            fields = line.split(":")
            groups[fields[0]] = int(fields[2])
    return users, groups


def main():
    sysusers_bin, tmpfiles_bin = shutil.which("systemd-sysusers"), shutil.which("systemd-tmpfiles")
    if not sysusers_bin or not tmpfiles_bin or os.geteuid() != 0:
        print("skip: needs root, systemd-sysusers and systemd-tmpfiles")
        return SKIP
    sysusers, tmpfiles = (os.path.abspath(p) for p in sys.argv[1:3])
    root = tempfile.mkdtemp(prefix="lockbox-tmpfiles-")
    try:
        os.makedirs(os.path.join(root, "etc"))
        r = subprocess.run([sysusers_bin, f"--root={root}", sysusers], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"systemd-sysusers accepts lockbox.sysusers ({r.stderr.strip()[-300:]})")
        users, groups = users_in(root)
        for group in ("lockbox-engineers", "lockbox-managers", "lockbox-approvers"):
            check(group in groups, f"group {group} exists")
        for user in ("lockbox-approval", "lockbox-authkeys"):
            check(user in users and users[user] < 1000, f"system user {user} exists")

        # Apply twice: the second run must change nothing and still succeed.
        for attempt in (1, 2):
            r = subprocess.run([tmpfiles_bin, f"--root={root}", "--create", tmpfiles],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and "rror" not in r.stderr,
                  f"systemd-tmpfiles --create run {attempt} is clean ({r.stderr.strip()[-300:]})")
        for path, (mode, owner) in EXPECTED.items():
            full = os.path.join(root, path)
            if not os.path.isdir(full):
                check(False, f"/{path} exists")
                continue
            st = os.lstat(full)
            got = stat.S_IMODE(st.st_mode)
            check(got == mode and st.st_uid == users.get(owner, -1),
                  f"/{path} is {mode:04o} {owner} (got {got:04o} uid {st.st_uid})")

        # A key the operator chowned but left with loose modes is fixed up (the
        # z line). A root-owned key is not: tmpfiles refuses the unsafe path
        # transition, hence the explicit chown in the operator guide.
        key = os.path.join(root, "etc/lockbox/private/signing.secret")
        with open(key, "w") as f:
            f.write("k4.secret.test\n")
        os.chown(key, users["lockbox-approval"], groups["lockbox-approval"])
        os.chmod(key, 0o644)
        subprocess.run([tmpfiles_bin, f"--root={root}", "--create", tmpfiles], capture_output=True, timeout=60)
        st = os.lstat(key)
        check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == users["lockbox-approval"],
              f"signing.secret is fixed to 0600 lockbox-approval (got {stat.S_IMODE(st.st_mode):04o})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"tmpfiles: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

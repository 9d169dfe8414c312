#!/usr/bin/env python3
"""Root-only methods of org.lockbox.Enforcer1 are refused to other uids (bus
policy and lockboxd's own euid check); Status and AuthorizedKeys stay open;
`lockboxctl status` reports the daemon; arguments are bounded and checked."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockboxd_test_support as t  # noqa: E402

ROOT_ONLY = [
    ("CheckAccess", "ssss", ["eng", "sshd", "", ""]),
    ("OpenSession", "susss", ["eng", "1", "", "", ""]),
    ("CloseSession", "s", ["x"]),
    ("ImportGrant", "s", ["v4.public.x"]),
    ("RevokeGrant", "ss", ["00000000-0000-4000-8000-000000000001", "why"]),
    ("ListGrants", "", []),
    ("ListGrantsPage", "su", ["", "0"]),
    ("ListSessions", "", []),
    ("KillSession", "s", ["x"]),
]


def main(sb, uids):
    t.setup_world(sb)
    sb.add_user("bob", 2901)
    t.start_lockboxd(sb)
    token = t.make_grant(sb, "eng", nbf=-1, exp=600)
    jti = t.import_grant(sb, token).stdout.strip()
    uids.append(t.uid_of(sb, jti))
    for method, sig, args in ROOT_ONLY:
        r = t.call(sb, method, sig, *args, user="bob")
        t.expect(r.returncode != 0 and any(w in (r.stderr + r.stdout).lower() for w in ("denied", "rejected")),
                 f"{method} as bob: rc={r.returncode} {r.stdout} {r.stderr}")
    r = t.call(sb, "Status", user="bob")
    t.expect(r.returncode == 0, f"Status as bob: {r.stderr}")
    status = json.loads(json.loads(r.stdout)["data"][0])
    t.expect(status["grants"]["active"] == 1 and "eng" not in status.values(), f"status: {status}")
    r = sb.ctl(["authorized-keys", "eng"], user="bob")
    t.expect(r.returncode == 0 and "ssh-ed25519" in r.stdout, f"authorized-keys as bob: {r.stderr}")
    r = sb.ctl(["grant", "import", token], user="bob")
    t.expect(r.returncode == 1 and r.stderr, f"import as bob: {r.returncode} {r.stderr}")
    r = sb.ctl(["status", "--json"], user="bob", check=True)
    t.expect(json.loads(r.stdout)["daemon"] == "running", r.stdout)
    r = sb.ctl(["status"], check=True)
    t.expect("1 active" in r.stdout, r.stdout)
    # A root caller gets through.
    allowed, reason = t.check_access(sb, "eng")
    t.expect(allowed and reason == "allowed", reason)
    allowed, reason = t.check_access(sb, "bob")
    t.expect(not allowed and reason == "not-managed", reason)
    r = sb.ctl(["session", "list", "--json"], check=True)
    t.expect(json.loads(r.stdout) == [], r.stdout)
    # Arguments are bounded while read and checked before anything acts, even
    # for root (liblockbox's bus_args.h and printable_text.h).
    for method, sig, args, says in [
        ("CheckAccess", "ssss", ["eng", "sshd", "", "t" * 65], "tty: longer than 64 bytes"),
        ("CheckAccess", "ssss", ["eng", "sshd", "", "pts/\x1b[2J"], "short printable strings"),
        ("OpenSession", "susss", ["eng", "1", "", "host\u009b", ""], "short printable strings"),
        ("CloseSession", "s", ["s" * 65], "session_id: longer than 64 bytes"),
        ("RevokeGrant", "ss", ["00000000-0000-4000-8000-000000000001", ""], "reason: expected non-empty"),
        ("ListGrantsPage", "su", ["garbage", "5"], "cursor: not a cursor"),
        ("ListGrantsPage", "su", ["c1.1." + jti + "0", "5"], "cursor: not a cursor"),
        ("ListGrantsPage", "su", ["c" * 20000, "5"], "cursor: longer than"),
        ("ListGrantsPage", "su", ["", "1001"], "limit: at most 1000"),
    ]:
        r = t.call(sb, method, sig, *args)
        t.expect(r.returncode != 0 and says in r.stderr, f"{method} {args!r:.60}: rc={r.returncode} {r.stderr}")
    # Root pages through the grants: the pages put together are the list.
    for sub in ("eng2", "eng3"):
        uids.append(t.uid_of(sb, t.import_grant(sb, t.make_grant(sb, sub, nbf=-1, exp=600)).stdout.strip()))
    every = [g["id"] for g in json.loads(sb.ctl(["grant", "list", "--json"], check=True).stdout)]
    t.expect(len(every) == 3, every)
    seen, cursor = [], ""
    while True:
        got = json.loads(sb.ctl(["grant", "list", "--limit", "1", "--json"] + (["--cursor", cursor] if cursor else []),
                                check=True).stdout)
        seen += [g["id"] for g in got["grants"]]
        cursor = got["next_cursor"]
        if not cursor:
            break
    t.expect(seen == every, f"pages {seen} != list {every}")
    r = sb.ctl(["grant", "list", "--limit", "2"], check=True)
    t.expect(len(r.stdout.splitlines()) == 3 and "--cursor c1." in r.stderr, f"{r.stdout}{r.stderr}")
    # sshd asks for any name: one over every bound has no keys and no error.
    r = t.call(sb, "AuthorizedKeys", "s", "e" * 20000)
    t.expect(r.returncode == 0 and json.loads(r.stdout)["data"] == [""], f"AuthorizedKeys: {r.stdout} {r.stderr}")


if __name__ == "__main__":
    t.run(main)

#!/usr/bin/env python3
"""Access levels on a real sshd with the real sudo (issue 14, part 1).

[Access] Levels=user,dbadmin,admin; the sandbox's sudoers is a bind-mounted copy
of the host's with the rules of the shipped docs/sudoers.example uncommented
(never the host's own file).

1. The approval side: an unknown level is refused at create; an approver may
   lower a level, never raise it; the level shows in `request show`.
2. A `user` grant: member of lockbox-user only, no sudo at all.
3. A `dbadmin` grant (an admin request lowered by the approver): runs exactly
   the example's command through sudo, and not another command or the same
   command with other arguments.
4. An `admin` grant: `sudo nohup sleep 1000 &` runs as root with the engineer's
   login uid, and is gone after exp; the delay after exp is printed (no timing
   assertion, a bounded wait). `lockboxctl audit --request` shows sudo's own
   record of the command."""
import json
import os
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from lockbox_time import parse_rfc3339

LEVELS = "user,dbadmin,admin"
EXAMPLE = os.path.join(lf.source_path("docs"), "sudoers.example")
PROBE = "/root/lockbox-access-probe"


def private_sudoers(sb):
    """The host's sudoers plus the example's rules, bind-mounted over /etc/sudoers
    inside the namespace only."""
    with open("/etc/sudoers") as f:
        base = f.read()
    with open(EXAMPLE) as f:
        rules = [line[1:] for line in f.read().splitlines() if line.startswith("#%lockbox-")]
    assert any(r.startswith("%lockbox-dbadmin") for r in rules) and \
        any(r.startswith("%lockbox-admin") for r in rules), rules
    path = os.path.join(sb.dir, "sudoers")
    with open(path, "w") as f:
        f.write(base + "\n# docs/sudoers.example, uncommented by the test\n" + "\n".join(rules) + "\n")
    os.chown(path, 0, 0)
    os.chmod(path, 0o440)
    r = subprocess.run(["visudo", "-c", "-f", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    sb.mount_bind(path, "/etc/sudoers")
    return rules


def approved_grant(sb, engineer, key, access, duration, lower_to=None):
    r = sc.ctl(sb, ["request", "create", "--tenant", sc.TENANT, "--ticket", f"INC-{engineer}", "--host", sc.HOST,
                    "--duration", duration, "--reason", f"{access} work", "--ssh-key", key + ".pub",
                    "--engineer", engineer, "--access", access], user=sc.CREATOR)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    r = sc.ctl(sb, ["request", "approve", rid], user=sc.MANAGER)
    assert r.returncode == 0, r.stderr
    args = ["request", "approve", rid] + (["--access", lower_to] if lower_to else [])
    r = sc.ctl(sb, args, user=sc.APPROVER)
    assert r.returncode == 0, r.stderr
    e2e.wait_for(lambda: e2e.getent("passwd", engineer) is not None, 10, f"{engineer} resolves")
    return rid


def groups_of(sb, engineer, key):
    r = sb.ssh(engineer, key, "id -Gn")
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def root_processes_with_login_uid(uid, argv0, arg1):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/loginuid") as f:
                login = int(f.read().strip())
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
        except (OSError, ValueError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        if login == uid and cmd[:2] == [argv0, arg1] and fields["Uid"].split()[0] == "0":
            found.append(int(entry))
    return found


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb, policy={"Access": {"Levels": LEVELS}})
        if not os.path.exists("/usr/bin/sudo"):
            print("sudo is not installed (tools/deps.sh lists it)")
            return 77
        rules = private_sudoers(sb)
        print("sudoers rules from docs/sudoers.example: " + "; ".join(rules))
        os.makedirs("/var/lib/postgresql", exist_ok=True)
        keys = {name: sb.make_ssh_key(name) for name in ("eve", "frank", "gina")}

        # 1. The approval side.
        r = sc.ctl(sb, ["request", "create", "--tenant", sc.TENANT, "--ticket", "INC-1", "--host", sc.HOST,
                        "--duration", "1h", "--reason", "r", "--ssh-key", keys["eve"] + ".pub",
                        "--engineer", "eve", "--access", "root"], user=sc.CREATOR)
        assert r.returncode == 1 and "root" in r.stderr and "user, dbadmin, admin" in r.stderr, r.stderr
        r = sc.ctl(sb, ["request", "create", "--tenant", sc.TENANT, "--ticket", "INC-2", "--host", sc.HOST,
                        "--duration", "1h", "--reason", "r", "--ssh-key", keys["eve"] + ".pub",
                        "--engineer", "eve", "--access", "dbadmin"], user=sc.CREATOR)
        assert r.returncode == 0, r.stderr
        raised = r.stdout.strip()
        assert sc.ctl(sb, ["request", "approve", raised], user=sc.MANAGER).returncode == 0
        r = sc.ctl(sb, ["request", "approve", raised, "--access", "admin"], user=sc.APPROVER)
        assert r.returncode == 1 and "never raise" in r.stderr, r.stderr
        assert sc.request_state(sb, raised) == "pending-approver"
        r = sc.ctl(sb, ["request", "show", raised], user=sc.APPROVER)
        assert "Access:        DBADMIN" in r.stdout, r.stdout
        assert sc.ctl(sb, ["request", "cancel", raised], user=sc.CREATOR).returncode == 0

        # 2. user: in lockbox-user, no sudo.
        approved_grant(sb, "eve", keys["eve"], "user", "10m")
        groups = groups_of(sb, "eve", keys["eve"])
        assert "lockbox-user" in groups and not groups & {"lockbox-dbadmin", "lockbox-admin"}, groups
        r = sb.ssh("eve", keys["eve"], f"sudo -n /usr/bin/touch {PROBE}; echo rc=$?")
        assert "rc=1" in r.stdout and not os.path.exists(PROBE), (r.stdout, r.stderr)
        r = sb.ssh("eve", keys["eve"], "sudo -n /usr/bin/du -sh /var/lib/postgresql; echo rc=$?")
        assert "rc=1" in r.stdout, (r.stdout, r.stderr)

        # 3. dbadmin, lowered by the approver from admin.
        rid_db = approved_grant(sb, "frank", keys["frank"], "admin", "10m", lower_to="dbadmin")
        shown = sc.ctl_json(sb, ["request", "show", rid_db], user="root")
        assert shown["access"] == "dbadmin" and shown["requested_access"] == "admin", shown
        assert "DBADMIN (requested ADMIN)" in sc.ctl(sb, ["request", "list"], user="root").stdout
        groups = groups_of(sb, "frank", keys["frank"])
        assert "lockbox-dbadmin" in groups and "lockbox-admin" not in groups, groups
        members = e2e.getent("group", "lockbox-dbadmin")
        assert members and members.split(":")[3].split(",") == ["frank"], members
        r = sb.ssh("frank", keys["frank"], "sudo -n /usr/bin/du -sh /var/lib/postgresql; echo rc=$?")
        assert "rc=0" in r.stdout and "/var/lib/postgresql" in r.stdout, (r.stdout, r.stderr)
        r = sb.ssh("frank", keys["frank"], f"sudo -n /usr/bin/touch {PROBE}; echo rc=$?")
        assert "rc=1" in r.stdout and not os.path.exists(PROBE), (r.stdout, r.stderr)
        r = sb.ssh("frank", keys["frank"], "sudo -n /usr/bin/du -sh /root; echo rc=$?")
        assert "rc=1" in r.stdout, (r.stdout, r.stderr)

        # 4. admin: a root process started through sudo ends with the grant.
        rid_admin = approved_grant(sb, "gina", keys["gina"], "admin", "25s")
        gina = int(e2e.getent("passwd", "gina").split(":")[2])
        grant = sc.ctl_json(sb, ["grant", "show", rid_admin], user="root")
        exp = parse_rfc3339(grant["exp"])
        # The plain sleep ends with the KillGrace SIGTERM (1 s before exp here);
        # the one that ignores SIGTERM only with the kill itself.
        r = sb.ssh("gina", keys["gina"], "sudo -n nohup sleep 1000 >/dev/null 2>&1 </dev/null & "
                                         "sudo -n nohup sh -c 'trap \"\" TERM; exec sleep 1001' "
                                         ">/dev/null 2>&1 </dev/null & echo started")
        assert r.returncode == 0 and "started" in r.stdout, (r.stdout, r.stderr)

        def sleeper(seconds):
            return root_processes_with_login_uid(gina, b"sleep", seconds)
        e2e.wait_for(lambda: sleeper(b"1000") and sleeper(b"1001"), 10, "both sleeps running as root")
        print(f"sudo'd sleeps run as uid 0 with loginuid {gina} (pids {sleeper(b'1000')} {sleeper(b'1001')}): "
              "pam_loginuid works in this sandbox")
        gone = {}
        lf.wait_until(lambda: time.time() >= exp - 1.5, exp - time.time() + 5, what="grant end near")
        deadline = time.monotonic() + exp - time.time() + 10
        while len(gone) < 2 and time.monotonic() < deadline:
            for name in (b"1000", b"1001"):
                if name not in gone and not sleeper(name):
                    gone[name] = time.time()
            time.sleep(0.02)
        assert len(gone) == 2, f"still running 10 s after exp: {sleeper(b'1000')} {sleeper(b'1001')}"
        print(f"sudo'd root 'sleep 1000' gone {(gone[b'1000'] - exp) * 1000:+.0f} ms from exp (SIGTERM grace), "
              f"'sleep 1001' ignoring SIGTERM gone {(gone[b'1001'] - exp) * 1000:+.0f} ms from exp (the kill; "
              "poll 20 ms, negative: before exp)")

        # sudo's own record of the command, in the request's trail.
        def sudo_lines():
            out = sc.ctl(sb, ["audit", "--request", rid_admin, "--json"], user="root")
            assert out.returncode == 0, out.stderr
            return [e for e in json.loads(out.stdout) if e.get("SYSLOG_IDENTIFIER") == "sudo"]
        try:
            lf.wait_until(lambda: sudo_lines(), 10, what="sudo's record in the request's trail")
        except TimeoutError:
            seen = [(e.get("_UID"), e.get("MESSAGE")) for e in sb.journal(identifiers=["sudo"])]
            print(f"sudo's lines in the journal (_UID, MESSAGE): {seen}")
            print(sc.ctl(sb, ["audit", "--request", rid_admin], user="root").stdout)
            raise
        messages = [e["MESSAGE"].lstrip() for e in sudo_lines()]
        print("sudo's records in the trail: " + " | ".join(messages))
        assert any(m.endswith("COMMAND=/usr/bin/nohup sleep 1000") for m in messages), messages
        # Only gina's: frank's sudo lines (same journal, same time) are not in it.
        assert all(m.startswith("gina : ") for m in messages), messages
        table = sc.ctl(sb, ["audit", "--request", rid_admin], user="root").stdout
        assert "(sudo)" in table, table
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A corpus of bad input through the real interfaces (lockboxctl and raw bus
calls to both daemons): every entry is refused with a message on stderr, nothing
on stdout, and no state changes anywhere."""
import json
import os
import subprocess
import sys

import lockbox_fixture as lf

GOOD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eng@x"


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        sb.start_journald()
        sb.start_dbus()
        for name, gid in (("lockbox-engineers", 2950), ("lockbox-managers", 2951),
                          ("lockbox-approvers", 2952)):
            sb.add_group(name, gid)
        sb.add_user("sam", 2801, groups=["lockbox-managers"])
        sb.make_keys()
        sb.write_config()
        sb.start_daemon("approvald/lockbox-approvald", bus_name="org.lockbox.Approval1")
        sb.start_daemon("lockboxd/lockboxd", bus_name="org.lockbox.Enforcer1")

        files = {}
        for name, text in (("good.pub", GOOD_KEY + "\n"), ("garbage.pub", "ssh-ed25519 !!!notbase64\n"),
                           ("private.key", "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n"),
                           ("empty.pub", "")):
            path = os.path.join(sb.dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
            files[name] = path

        def create(**over):
            args = {"--tenant": "contoso", "--ticket": "INC-1", "--host": "db01", "--duration": "1h",
                    "--reason": "fix it", "--ssh-key": files["good.pub"], "--engineer": "eve"}
            args.update(over)
            argv = ["request", "create"]
            for k, v in args.items():
                if v is not None:
                    argv += [k, v]
            return argv

        # A valid request proves the corpus's baseline is accepted.
        r = sb.ctl(create(), user="sam")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()

        cli_corpus = [
            ("tenant with a space", create(**{"--tenant": "con toso"})),
            ("other tenant", create(**{"--tenant": "fabrikam"})),
            ("ticket with a space", create(**{"--ticket": "INC 1"})),
            ("ticket too long", create(**{"--ticket": "T" * 65})),
            ("host with bad characters", create(**{"--host": "db01;rm -rf /"})),
            ("empty host", create(**{"--host": ""})),
            ("zero duration", create(**{"--duration": "0s"})),
            ("negative duration", create(**{"--duration": "-1h"})),
            ("duration above the maximum", create(**{"--duration": "5h"})),
            ("bare number duration", create(**{"--duration": "4"})),
            ("unparseable duration", create(**{"--duration": "soon"})),
            ("empty reason", create(**{"--reason": ""})),
            ("reason too long", create(**{"--reason": "r" * 5000})),
            ("reason with control characters", create(**{"--reason": "a\x1b[2Jb"})),
            ("garbage ssh key", create(**{"--ssh-key": files["garbage.pub"]})),
            ("private key instead of public", create(**{"--ssh-key": files["private.key"]})),
            ("empty ssh key file", create(**{"--ssh-key": files["empty.pub"]})),
            ("missing ssh key file", create(**{"--ssh-key": "/nonexistent/key.pub"})),
            ("engineer with uppercase", create(**{"--engineer": "Eve"})),
            ("engineer too long", create(**{"--engineer": "e" * 40})),
            ("engineer root", create(**{"--engineer": "root"})),
            ("show a non-uuid", ["request", "show", "../../etc/passwd"]),
            ("show an unknown id", ["request", "show", "00000000-0000-4000-8000-000000000000"]),
            ("approve a non-uuid", ["request", "approve", "x"]),
            ("deny without reason", ["request", "deny", rid, "--reason", ""]),
            ("approve lengthening", ["request", "approve", rid, "--duration", "5h"]),
            ("import garbage", ["grant", "import", "garbage"]),
            ("import v4.local", ["grant", "import", "v4.local.AAAA"]),
            ("import oversized", ["grant", "import", "v4.public." + "A" * 70000]),
            ("revoke a non-uuid", ["grant", "revoke", "nope", "--reason", "x"]),
            ("kill an unknown session", ["session", "kill", "does-not-exist"]),
        ]

        bus_corpus = [
            ("CreateRequest oversized ticket",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "CreateRequest",
              "ssastsassts", "contoso", "T" * 20000, "1", "db01", "3600", "r", "1", GOOD_KEY, "eve", "0", ""]),
            ("CreateRequest 1000 hosts",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "CreateRequest",
              "ssastsassts", "contoso", "INC-9", "1000"] + [f"h{i}" for i in range(1000)]
             + ["3600", "r", "1", GOOD_KEY, "eve", "0", ""]),
            ("CreateRequest zero duration",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "CreateRequest",
              "ssastsassts", "contoso", "INC-9", "1", "db01", "0", "r", "1", GOOD_KEY, "eve", "0", ""]),
            ("CreateRequest start at the end of time",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "CreateRequest",
              "ssastsassts", "contoso", "INC-9", "1", "db01", "3600", "r", "1", GOOD_KEY, "eve",
              "18446744073709551615", ""]),
            ("ApproveRequest bad id",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "ApproveRequest",
              "stss", "'; DROP TABLE requests; --", "0", "", ""]),
            ("ListRequests bad state",
             ["org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1", "ListRequests",
              "s", "all-of-them"]),
            ("CheckAccess bad user",
             ["org.lockbox.Enforcer1", "/org/lockbox/Enforcer1", "org.lockbox.Enforcer1", "OpenSession",
              "suss", "../../root", "1", "pts/0", "127.0.0.1", ""]),
            ("ImportGrant oversized",
             ["org.lockbox.Enforcer1", "/org/lockbox/Enforcer1", "org.lockbox.Enforcer1", "ImportGrant",
              "s", "v4.public." + "A" * 70000]),
            ("CloseSession bad id",
             ["org.lockbox.Enforcer1", "/org/lockbox/Enforcer1", "org.lockbox.Enforcer1", "CloseSession",
              "s", "\u00e9\u00e9"]),
        ]

        def state():
            reqs = sb.ctl(["request", "list", "--json"], user="root", check=True).stdout
            grants = sb.ctl(["grant", "list", "--json"], user="root", check=True).stdout
            sessions = sb.ctl(["session", "list", "--json"], user="root", check=True).stdout
            return json.loads(reqs), json.loads(grants), json.loads(sessions)

        before = state()
        failures = []
        for title, argv in cli_corpus:
            r = sb.ctl(argv, user="root" if argv[0] in ("grant", "session") else "sam")
            if r.returncode not in (1, 2) or not r.stderr.strip() or r.stdout.strip():
                failures.append(f"CLI {title}: exit {r.returncode}, stdout {r.stdout[:80]!r}, "
                                f"stderr {r.stderr[:120]!r}")
            elif r.returncode == 1 and "lockboxctl" not in r.stderr:
                failures.append(f"CLI {title}: message does not say who speaks: {r.stderr[:120]!r}")
        for title, args in bus_corpus:
            r = subprocess.run(["busctl", "--system", "call", "--timeout=10"] + args,
                               capture_output=True, text=True, timeout=30)
            if r.returncode == 0 or not r.stderr.strip():
                failures.append(f"bus {title}: exit {r.returncode}, {r.stdout[:80]!r} {r.stderr[:120]!r}")
        after = state()
        assert before == after, f"state changed:\nbefore {before}\nafter {after}"
        assert not failures, "\n".join(failures)
        print(f"{len(cli_corpus)} CLI and {len(bus_corpus)} bus inputs refused, state unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())

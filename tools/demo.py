#!/usr/bin/env python3
"""The narrated lifecycle behind tools/demo (see tools/demo); --fleet runs
tools/demo_fleet.py instead."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import lockbox_e2e as e2e  # noqa: E402
import lockbox_fixture as lf  # noqa: E402
import lockbox_scenario as sc  # noqa: E402
from lockbox_time import parse_rfc3339  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""
GRANT = "30s"


def say(text):
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def keep_until_enter(hints):
    """--keep: the sandbox stays up, with how to get into it, until Enter."""
    say("The sandbox stays up until you press Enter")
    for line in hints:
        print(f"  {line}")
    try:
        input()
    except EOFError:
        pass


def show(who, argv, result):
    print(f"{DIM}{who}$ {' '.join(argv)}{RESET}")
    out = (result.stdout or "").rstrip()
    err = (result.stderr or "").rstrip()
    if out:
        print("  " + out.replace("\n", "\n  "))
    if err:
        print("  " + err.replace("\n", "\n  "))
    print(f"  {DIM}(exit {result.returncode}){RESET}", flush=True)
    return result


def ctl(sb, who, args):
    return show(who, ["lockboxctl"] + args, sc.ctl(sb, args, user=who))


def main():
    keep = "--keep" in sys.argv[1:]
    if "--fleet" in sys.argv[1:]:
        import demo_fleet
        return demo_fleet.main(keep)
    lf.enter_namespace()
    with e2e.E2ESandbox(keep=keep) as sb:
        say("Setting up a sandboxed host: tenant 'contoso', host 'db01'")
        sc.deploy(sb, accounts={"Accounts": {"Record": "yes"}},
                  narrate=lambda text: print(f"  - {text}", flush=True))
        key = sb.make_ssh_key("eve")
        print("  People: sam and mona (provider support managers), alex (contoso's approver),\n"
              "          eve (provider engineer, no account on this host)")

        say("Eve tries to log in without approval")
        show("eve", ["ssh", "eve@db01", "id"], sb.ssh("eve", key, "id"))
        print(f"  getent passwd eve -> {e2e.getent('passwd', 'eve') or '(no such user)'}")

        say(f"Sam files an access request for eve ({GRANT})")
        r = ctl(sb, "sam", ["request", "create", "--tenant", sc.TENANT, "--ticket", "INC-1001",
                            "--host", sc.HOST, "--duration", GRANT, "--reason", "disk full on db01",
                            "--ssh-key", key + ".pub", "--engineer", "eve"])
        if r.returncode != 0:
            return 1
        rid = r.stdout.strip()

        say("Alex (customer) tries to approve before the support manager")
        ctl(sb, "alex", ["request", "approve", rid])
        say("Mona (support manager) approves, then alex (customer) approves")
        ctl(sb, "mona", ["request", "approve", rid, "--comment", "ticket checked"])
        ctl(sb, "alex", ["request", "approve", rid])
        ctl(sb, "root", ["grant", "show", rid])

        say("Eve logs in: the account resolves, sshd admits her key, PAM admits the session")
        e2e.wait_for(lambda: e2e.getent("passwd", "eve") is not None, 5, "eve resolves")
        print(f"  getent passwd eve -> {e2e.getent('passwd', 'eve')}")
        show("eve", ["ssh", "eve@db01", "id; hostname"], sb.ssh("eve", key, "id; hostname"))

        grant = sc.ctl_json(sb, ["grant", "show", rid], user="root")
        exp = parse_rfc3339(grant["exp"])
        uid = sc.engineer_uid()
        say("Eve starts a long session and leaves a setsid/nohup process behind")
        session = sb.ssh_spawn("eve", key, "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & sleep 1000",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        e2e.wait_for(lambda: len(e2e.processes_of_uid(uid)) >= 2, 10, "eve's processes")
        ctl(sb, "root", ["session", "list"])
        while time.time() < exp:
            left = exp - time.time()
            print(f"  eve's processes: {e2e.processes_of_uid(uid)}; grant ends in {left:4.1f}s", flush=True)
            time.sleep(min(5.0, max(0.1, left)))
        e2e.wait_for(lambda: not e2e.processes_of_uid(uid), 15, "eve's processes gone")
        print(f"  all of eve's processes gone {max(0.0, time.time() - exp) * 1000:.0f} ms after the grant ended")
        _, err = session.communicate(timeout=15)
        print(f"  eve's ssh client says: {err.decode(errors='replace').strip()}")

        say("After expiry")
        print(f"  getent passwd eve -> {e2e.getent('passwd', 'eve') or '(no such user)'}")
        show("eve", ["ssh", "eve@db01", "id"], sb.ssh("eve", key, "id"))
        time.sleep(0.5)
        ctl(sb, "root", ["request", "show", rid])

        say("The audit trail in journald")
        ctl(sb, "root", ["audit", "--request", rid])
        chunks = sb.journal(match={"TLOG_USER": "eve"})
        recs = sorted({c.get("TLOG_REC") for c in chunks if c.get("TLOG_REC")})
        print(f"  eve's terminal was recorded by tlog: {len(chunks)} journal entries in {len(recs)} recording(s);")
        for rec in recs:
            print(f"  replay with: tlog-play -r journal -M TLOG_REC={rec}")

        if keep:
            keep_until_enter([f"In another terminal: nsenter --target {os.getpid()} --mount --net",
                              f"then e.g.: lockboxctl request list; journalctl -t lockboxd; "
                              f"ssh -p {e2e.SSH_PORT} -i {key} eve@127.0.0.1"])
        say("Tearing the sandbox down")
    return 0


if __name__ == "__main__":
    sys.exit(main())

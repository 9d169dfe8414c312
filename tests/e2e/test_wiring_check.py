#!/usr/bin/env python3
"""`lockboxctl status --check` on the documented setup, then with one piece of
the wiring broken at a time.

On the sandbox's deployment (the operator guide's PAM lines, nsswitch.conf and
the shipped sshd drop-in) every check passes but those that cannot hold in a
sandbox: the units (no systemd as PID 1: a WARN) and, when the host's clock is
not synchronized, the clock. The sshd checks for engineers need a member of
lockbox-grantees, so they WARN before the first grant and PASS during one.
Then each break (in the sandbox's overlay copies of /etc, never the host's)
turns exactly its own line into a FAIL with a fix, and the exit code into 1."""
import os
import re
import shutil
import subprocess
import sys

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

LINE = re.compile(r"^(PASS|FAIL|WARN)  ([^:]+): (.*)$")
SANDBOX_MAY_FAIL = {"clock"}  # the host's clock, which the sandbox cannot synchronize
SANDBOX_WARNS = {"unit lockboxd.service", "unit lockbox-approvald.service"}


def run_check(sb, user="root"):
    r = sc.ctl(sb, ["status", "--check"], user=user, timeout=120)
    results = {}
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        assert m, f"not a check line: {line!r}\n{r.stdout}"
        assert m.group(2) not in results, f"two lines for {m.group(2)}:\n{r.stdout}"
        results[m.group(2)] = (m.group(1), m.group(3))
    return r, results


def failing(results):
    return {name for name, (verdict, _) in results.items() if verdict == "FAIL"}


def assert_exit_matches(r, results):
    expected = 1 if failing(results) else 0
    assert r.returncode == expected, f"exit {r.returncode} with FAIL lines {failing(results)}:\n{r.stdout}{r.stderr}"


def edit(path, transform):
    """Rewrites a sandbox copy of a file; returns the old text to restore."""
    with open(path) as f:
        old = f.read()
    new = transform(old)
    assert new != old, f"the break changed nothing in {path}"
    with open(path, "w") as f:
        f.write(new)
    return old


def restore(path, text):
    with open(path, "w") as f:
        f.write(text)


def expect_only_failure(sb, baseline_failures, name, fix_words):
    r, results = run_check(sb)
    assert_exit_matches(r, results)
    assert r.returncode == 1, r.stdout
    assert failing(results) == baseline_failures | {name}, f"expected only {name} to break:\n{r.stdout}"
    line = next(l for l in r.stdout.splitlines() if LINE.match(l).group(2) == name)
    assert "-- fix: " in line and fix_words in line, line
    lf.log(f"broken as expected: {line}")
    return results


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        # 10 000 engineer uids instead of the default 100 000: a source that
        # cannot list its accounts (nss-systemd here) is asked uid by uid, and
        # 100 000 questions can outlast the check's 20 s budget on a loaded
        # CI machine (a WARN, not the PASS this test expects).
        sc.deploy(sb, accounts={"Accounts": {"UIDMin": "2100000000", "UIDMax": "2100009999"}})

        # Not root: refused with a reason, no check run.
        r, _ = run_check(sb, user=sc.OUTSIDER)
        assert r.returncode == 1 and "as root" in r.stderr and r.stdout == "", (r.stdout, r.stderr)

        # Before any grant: sshd's Match for engineers cannot be evaluated.
        r, results = run_check(sb)
        assert_exit_matches(r, results)
        for name in ("sshd AuthorizedKeysFile for engineers", "sshd forwarding for engineers"):
            assert results[name][0] == "WARN" and "active grant" in results[name][1], results[name]
        for name in SANDBOX_WARNS:
            assert results[name] == ("WARN", "cannot check: systemd is not running"), results[name]

        key = sb.make_ssh_key("eve")
        r = sc.create_request(sb, key + ".pub", duration="30m", ticket="INC-7001")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("group", "lockbox-grantees") is not None, 15, "eve in lockbox-grantees")

        # The documented setup, during a grant.
        r, results = run_check(sb)
        assert_exit_matches(r, results)
        expected = {"configuration", "pam account stack", "pam session stack", "pam loginuid", "nsswitch passwd",
                    "nsswitch group",
                    "sshd AuthorizedKeysCommand", "sshd AuthorizedKeysFile for engineers",
                    "sshd forwarding for engineers", "trusted keys", "engineer uid range", "clock",
                    "session recording"} | SANDBOX_WARNS
        assert set(results) == expected, f"checks {set(results) ^ expected} differ:\n{r.stdout}"
        for name, (verdict, detail) in results.items():
            if name in SANDBOX_WARNS:
                assert verdict == "WARN", (name, verdict, detail)
            elif name not in SANDBOX_MAY_FAIL:
                assert verdict == "PASS", f"{name}: {verdict} {detail}\n{r.stdout}"
        assert "user=eve" in results["sshd AuthorizedKeysFile for engineers"][1], results
        baseline = failing(results)
        lf.log(f"documented setup:\n{r.stdout}")

        # 1. pam_lockbox gone from the account stack.
        old = edit("/etc/pam.d/sshd", lambda t: "\n".join(
            l for l in t.splitlines() if not (l.startswith("account") and "pam_lockbox.so" in l)) + "\n")
        expect_only_failure(sb, baseline, "pam account stack", "required     pam_lockbox.so")
        restore("/etc/pam.d/sshd", old)

        # 2. A `sufficient` module in front of it: its success skips pam_lockbox.
        edit("/etc/pam.d/sshd", lambda t: t.replace("account    required     pam_lockbox.so",
                                                   "account    sufficient   pam_permit.so\n"
                                                   "account    required     pam_lockbox.so", 1))
        results = expect_only_failure(sb, baseline, "pam account stack", "move the pam_lockbox.so account line")
        assert "pam_permit.so" in results["pam account stack"][1], results["pam account stack"]
        restore("/etc/pam.d/sshd", old)

        # 3. The session line made optional: its refusal would not end the session.
        edit("/etc/pam.d/sshd", lambda t: t.replace("session    required     pam_lockbox.so",
                                                   "session    optional     pam_lockbox.so", 1))
        expect_only_failure(sb, baseline, "pam session stack", "required")
        restore("/etc/pam.d/sshd", old)

        # 3b. pam_loginuid gone: the kill would miss what the engineer runs through sudo.
        edit("/etc/pam.d/sshd", lambda t: "\n".join(
            l for l in t.splitlines() if "pam_loginuid.so" not in l) + "\n")
        expect_only_failure(sb, baseline, "pam loginuid", "pam_loginuid.so")
        restore("/etc/pam.d/sshd", old)

        # 4. lockbox gone from nsswitch.conf's passwd line.
        old = edit("/etc/nsswitch.conf", lambda t: "\n".join(
            l.replace(" lockbox", "") if l.startswith("passwd:") else l for l in t.splitlines()) + "\n")
        # The engineer no longer resolves, so sshd's Match for engineers cannot be
        # evaluated: those lines turn to WARN, not to a second FAIL.
        results = expect_only_failure(sb, baseline, "nsswitch passwd", "add `lockbox` to the `passwd:` line")
        assert results["sshd AuthorizedKeysFile for engineers"][0] == "WARN", results
        restore("/etc/nsswitch.conf", old)

        # 5. AuthorizedKeysFile back for engineers: the drop-in without its `none`.
        old = edit(e2e.LOCKBOX_SSHD_DROPIN, lambda t: t.replace("\tAuthorizedKeysFile none\n", ""))
        results = expect_only_failure(sb, baseline, "sshd AuthorizedKeysFile for engineers", "sshd_config.d/lockbox.conf")
        assert ".ssh/authorized_keys" in results["sshd AuthorizedKeysFile for engineers"][1], results
        restore(e2e.LOCKBOX_SSHD_DROPIN, old)

        # 6. Forwarding allowed again for engineers.
        edit(e2e.LOCKBOX_SSHD_DROPIN, lambda t: t.replace("\tDisableForwarding yes\n", ""))
        expect_only_failure(sb, baseline, "sshd forwarding for engineers", "sshd_config.d/lockbox.conf")
        restore(e2e.LOCKBOX_SSHD_DROPIN, old)

        # 7. No trusted key left.
        aside = os.path.join(sb.dir, "approval.public")
        shutil.move("/etc/lockbox/trusted.d/approval.public", aside)
        # lockboxd watches trusted.d and drops eve's grant, whose key is gone.
        # Wait for it: a check that saw eve resolve and then asked sshd about
        # her after the drop would fail the sshd lines for a reason of its own.
        e2e.wait_for(lambda: e2e.getent("passwd", "eve") is None, 15, "lockboxd to drop eve's grant with its key")
        expect_only_failure(sb, baseline, "trusted keys", "signing.public")
        shutil.move(aside, "/etc/lockbox/trusted.d/approval.public")

        # 8. Record=yes with no tlog where RecordShell= says.
        old = edit("/etc/lockbox/lockbox.conf",
                   lambda t: t.replace("Record=no\n", "Record=yes\nRecordShell=/usr/bin/no-such-tlog\n"))
        expect_only_failure(sb, baseline, "session recording", "install tlog")
        restore("/etc/lockbox/lockbox.conf", old)

        # 9. A local account inside the engineer range.
        sb.add_user("squatter", 2100000500)
        results = expect_only_failure(sb, baseline, "engineer uid range", "UIDMin=")
        assert "squatter" in results["engineer uid range"][1] and "`files`" in results["engineer uid range"][1]

        # Everything restored but the squatter: only that one fails still.
        r, results = run_check(sb)
        assert failing(results) == baseline | {"engineer uid range"}, r.stdout
    return 0


if __name__ == "__main__":
    sys.exit(main())

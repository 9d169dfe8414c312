#!/usr/bin/env python3
"""A later start on a real sshd (issue 14, part 2): `request create --start +Ns`
for a maintenance window. The grant's nbf is that time: once approved, the
request reads `approved` and lockboxd admits nobody before nbf − ClockSkew
(ssh refused, CheckAccess audited not-yet-valid), then admits the engineer.
Starts in the past or more than 7 days ahead, and bad syntax, are refused."""
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from lockbox_time import parse_rfc3339

ENGINEER = "wanda"  # this test's own name: other sandboxes share the uid range
LEAD = 25           # s from filing to the start; ClockSkew is 2 s in the scenario


def create(sb, key, start, duration="2m"):
    return sc.ctl(sb, ["request", "create", "--tenant", sc.TENANT, "--ticket", "CHG-77", "--host", sc.HOST,
                       "--duration", duration, "--reason", "kernel update window", "--ssh-key", key + ".pub",
                       "--engineer", ENGINEER, "--start", start], user=sc.CREATOR)


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        config = sc.deploy(sb)["config"]
        skew = float(config["Policy"]["ClockSkew"].rstrip("s"))
        key = sb.make_ssh_key(ENGINEER)

        for bad, code, needle in (("+169h", 1, "7 days"), ("2020-01-01T00:00:00Z", 1, "future"),
                                  ("tomorrow", 2, "--start"), ("+0s", 2, "--start")):
            r = create(sb, key, bad)
            assert r.returncode == code and needle in r.stderr, f"--start {bad}: {r.returncode} {r.stderr}"
            assert r.stdout == "", r.stdout

        filed = time.time()
        r = create(sb, key, f"+{LEAD}s")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        shown = sc.ctl_json(sb, ["request", "show", rid], user="root")
        start = parse_rfc3339(shown["start"])
        assert abs(start - (filed + LEAD)) <= 2, (shown["start"], filed)
        # The pending timeout still counts from filing.
        assert abs(parse_rfc3339(shown["pending_until"]) - (filed + 12 * 3600)) <= 2, shown["pending_until"]
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, f"{who} approve: {r.stderr}"
        grant = sc.ctl_json(sb, ["grant", "show", rid], user="root")
        assert parse_rfc3339(grant["nbf"]) == start, (grant["nbf"], shown["start"])
        assert parse_rfc3339(grant["exp"]) == start + 120, grant["exp"]
        assert sc.request_state(sb, rid) == "approved"

        # Before nbf − ClockSkew: installed, not admitted.
        e2e.wait_for(lambda: sb.journal(match={"LOCKBOX_EVENT": "grant-installed", "LOCKBOX_REQUEST_ID": rid}),
                     10, "grant installed on the host")
        assert time.time() < start - skew - 3, "the test was too slow to try before the start"
        r = sb.ssh(ENGINEER, key, "true", timeout=20)
        assert r.returncode == 255, f"ssh before the start must be refused: {r.returncode} {r.stdout}"
        assert not sb.journal(match={"LOCKBOX_EVENT": "grant-activated", "LOCKBOX_REQUEST_ID": rid}), \
            "the grant was activated before its start"
        assert time.time() < start - skew, "the refused login happened after the start"

        # From nbf − ClockSkew on: active, admitted.
        lf.wait_until(lambda: time.time() >= start - skew, start - time.time() + 5, what="the start")
        e2e.wait_for(lambda: sb.journal(match={"LOCKBOX_EVENT": "grant-activated", "LOCKBOX_REQUEST_ID": rid}),
                     10, "grant activated at its start")
        r = sb.ssh(ENGINEER, key, "id -un")
        assert r.returncode == 0 and r.stdout.strip() == ENGINEER, f"{r.returncode} {r.stderr}"
        assert time.time() >= start - skew
        e2e.wait_for(lambda: sc.request_state(sb, rid) == "active", 5, "request active")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

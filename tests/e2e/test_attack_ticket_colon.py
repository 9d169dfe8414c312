#!/usr/bin/env python3
"""Attack (issue 17 §4): one grant must not stop the NSS cache for everyone.

A ticket such as `INC:4711` is valid and ends up in the gecos field of the
engineer's passwd record. While that grant is active the cache must keep being
rebuilt: the engineer resolves (with the `:` encoded, so getent's line keeps its
seven fields), a second engineer granted later resolves, and a revoked one
stops resolving."""
import sys

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

ENGINEER = "tess"  # names of this test's own: other sandboxes share the uid range


def approve(sb, key, engineer, ticket):
    r = sc.create_request(sb, key + ".pub", duration="4m", ticket=ticket, engineer=engineer)
    assert r.returncode == 0, f"request with ticket {ticket}: {r.stderr}"
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = sc.ctl(sb, ["request", "approve", rid], user=who)
        assert r.returncode == 0, f"{who} approve: {r.stderr}"
    return rid


def active(sb, rid):
    e2e.wait_for(lambda: sb.journal(match={"LOCKBOX_EVENT": "grant-activated", "LOCKBOX_REQUEST_ID": rid}),
                 30, f"grant {rid} active")


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        fred_key = sb.make_ssh_key("fred")
        fred_rid = approve(sb, fred_key, "fred", "INC-1001")
        e2e.wait_for(lambda: e2e.getent("passwd", "fred") is not None, 30, "fred resolves")

        tess_key = sb.make_ssh_key(ENGINEER)
        tess_rid = approve(sb, tess_key, ENGINEER, "INC:4711")
        active(sb, tess_rid)
        try:
            e2e.wait_for(lambda: e2e.getent("passwd", ENGINEER) is not None, 10, "tess resolves")
        except TimeoutError:
            pass
        line = e2e.getent("passwd", ENGINEER)
        assert line is not None, "the engineer of the INC:4711 grant does not resolve: the cache was not rebuilt"
        assert len(line.split(":")) == 7, f"gecos broke the passwd line: {line!r}"
        r = sb.ssh(ENGINEER, tess_key, "id -un")
        assert r.returncode == 0 and r.stdout.strip() == ENGINEER, f"{r.returncode} {r.stderr}"

        # A later engineer resolves while the INC:4711 grant lives.
        gina_key = sb.make_ssh_key("gina")
        approve(sb, gina_key, "gina", "INC-1002")
        try:
            e2e.wait_for(lambda: e2e.getent("passwd", "gina") is not None, 30, "gina resolves")
        except TimeoutError:
            raise AssertionError("a grant installed after the INC:4711 one does not resolve")

        # Revocations take effect in the cache while it lives.
        r = sc.ctl(sb, ["grant", "revoke", fred_rid, "--reason", "done"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        try:
            e2e.wait_for(lambda: e2e.getent("passwd", "fred") is None, 30, "fred stops resolving")
        except TimeoutError:
            raise AssertionError("a revoked engineer keeps resolving while the INC:4711 grant lives")
        r = sc.ctl(sb, ["grant", "revoke", tess_rid, "--reason", "done"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("passwd", ENGINEER) is None, 30, "tess stops resolving")
        assert e2e.getent("passwd", "gina") is not None, "gina must still resolve"
        failed = sb.journal(match={"LOCKBOX_EVENT": "nss-cache-failed"})
        assert not failed, f"a rebuild failed: {failed[0].get('MESSAGE')}"
    return 0


if __name__ == "__main__":
    sys.exit(main())

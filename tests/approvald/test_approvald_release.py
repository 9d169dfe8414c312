#!/usr/bin/env python3
"""lockboxctl grant release ("I'm done"): the grant's engineer or a manager ends
it early through lockbox-approvald, everyone else is refused with AccessDenied
and audited; the request reads "released", the audit has grant-released naming
who released it, GetHostGrants lists it as ended with how and by whom, and the
same GrantRevoked signal as a revocation goes out."""
import json
import sys

import lockbox_fixture as lf
import approvald_world as w

GRANT_RELEASED_ID = "2b4467dd50624f4797392e5ecaab159b"


def approved(sb, keys):
    rid = w.create(sb, keys, user="eve")
    sb.ctl(["request", "approve", rid], user="alice", check=True)
    sb.ctl(["request", "approve", rid], user="bob", check=True)
    return rid


def host_grants(sb):
    r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "GetHostGrants",
                       "ss", "contoso", "db01")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["data"]


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        keys = w.setup(sb)
        d = w.start(sb)

        rid = approved(sb, keys)
        before = w.show(sb, rid)
        assert before["state"] in ("approved", "active"), before
        # Not the engineer's, not a manager: refused, the grant untouched.
        w.expect_refused(sb, ["grant", "release", rid], "mallory", "access denied")
        w.expect_refused(sb, ["grant", "release", rid], "bob", "access denied")
        w.expect_refused(sb, ["grant", "release", rid], "oscar", "access denied")
        w.expect_refused(sb, ["grant", "release", "not-a-uuid"], "eve", "not a grant id")
        assert w.show(sb, rid) == before, "a refused release changed the request"
        assert host_grants(sb)[1] == [], "a refused release ended the grant"

        r = sb.ctl(["grant", "release", rid], user="eve")
        assert r.returncode == 0 and r.stdout == "", r
        after = w.show(sb, rid)
        assert after["state"] == "released", after
        assert after["closed_by"] == "eve", after
        grants, ended = host_grants(sb)
        assert grants == [], grants
        assert ended == [[rid, "released", "eve"]], ended
        w.expect_refused(sb, ["grant", "release", rid], "eve", "released")  # once
        w.expect_refused(sb, ["grant", "revoke", rid, "--reason", "x"], "bob", "released")
        states = json.loads(sb.ctl(["request", "list", "--state", "released", "--json"], check=True).stdout)
        assert [x["id"] for x in states] == [rid], states

        # A manager may release it for the engineer; a revocation is listed as one.
        rid2 = approved(sb, keys)
        sb.ctl(["grant", "release", rid2], user="alice", check=True)
        rid3 = approved(sb, keys)
        sb.ctl(["grant", "revoke", rid3, "--reason", "incident over"], user="bob", check=True)
        ended = sorted(host_grants(sb)[1])
        assert ended == sorted([[rid, "released", "eve"], [rid2, "released", "alice"],
                                [rid3, "revoked", "bob"]]), ended
        d = w.restart(sb, d)
        assert w.show(sb, rid2)["state"] == "released"

        # The audit trail: grant-released with the real actor, refusals by name.
        entry = w.wait_for_event(sb, rid, "grant-released")[0]
        assert entry.get("LOCKBOX_ACTOR") == "eve", entry
        assert entry.get("MESSAGE_ID") == GRANT_RELEASED_ID, entry
        assert entry.get("LOCKBOX_ENGINEER") == "eve" and entry.get("LOCKBOX_TICKET") == "INC-4711", entry
        ev = w.events(sb, rid)
        # bob and oscar were refused by the role gate, before the id was looked
        # up: their records do not name the request (request_workflow.h).
        for needed in [("call-refused", "mallory"), ("grant-released", "eve")]:
            assert needed in ev, f"{needed} missing from the journal: {ev}"
        assert ("grant-revoked", "eve") not in ev, ev
        assert ("grant-released", "alice") in w.events(sb, rid2)
        refused = [e for e in sb.journal(match={"LOCKBOX_REQUEST_ID": rid, "LOCKBOX_EVENT": "call-refused",
                                                 "LOCKBOX_ACTOR": "mallory"})]
        assert refused and refused[0].get("LOCKBOX_METHOD") == "ReleaseGrant", refused
        assert refused[0].get("LOCKBOX_REFUSAL") == "access-denied", refused
        sb.stop_daemon(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

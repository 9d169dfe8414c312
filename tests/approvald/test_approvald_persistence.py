#!/usr/bin/env python3
"""lockbox-approvald keeps its promises across time and crashes: a grant reads
`active` then `completed` as its window passes; a pending request expires on time
with nobody calling (timer), and one that timed out while the daemon was down
expires at start-up; SIGKILL loses nothing that was acknowledged."""
import sys

import lockbox_fixture as lf
import approvald_world as w


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        keys = w.setup(sb, {"Policy": {"PendingTimeout": "1h"}})
        d = w.start(sb)

        # -- a short grant runs its course; the state follows the clock
        rid = w.create(sb, keys, user="eve", duration="2s")
        sb.ctl(["request", "approve", rid], user="alice", check=True)
        sb.ctl(["request", "approve", rid], user="bob", check=True)
        # Crash right after the acknowledged approval: nothing is lost.
        sb.kill_daemon(d)
        d = w.start(sb)
        state = w.show(sb, rid)["state"]
        assert state in ("active", "completed"), state
        lf.wait_until(lambda: w.show(sb, rid)["state"] == "completed", 15, interval=0.2,
                      what="the grant to read completed after exp")
        completed = [x["id"] for x in
                     __import__("json").loads(sb.ctl(["request", "list", "--state", "completed", "--json"],
                                                     user="alice", check=True).stdout)]
        assert completed == [rid], completed
        r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "ExportGrant",
                           "s", rid, user="eve")
        assert r.returncode != 0, r
        w.wait_for_event(sb, rid, "grant-issued")

        # -- pending timeout: 3 s from now on
        sb.stop_daemon(d)
        sb.write_config({"Policy": {"MaxGrant": "4h", "PendingTimeout": "3s"}})
        d = w.start(sb)
        timed = w.create(sb, keys, user="eve")
        # Nobody calls the service: the timer alone must expire it.
        found = w.wait_for_event(sb, timed, "request-expired", timeout=20)
        assert found[0]["LOCKBOX_ACTOR"] == "lockbox-approvald", found[0]
        assert found[0]["LOCKBOX_ENGINEER"] == "eve"
        assert w.show(sb, timed)["state"] == "expired"
        w.expect_refused(sb, ["request", "approve", timed], "alice", "expired")

        # Timed out while the daemon was down: expired by the start-up sweep.
        down = w.create(sb, keys, user="eve")
        sb.stop_daemon(d)
        w.bounded_sleep(4)
        assert not sb.journal(match={"LOCKBOX_REQUEST_ID": down, "LOCKBOX_EVENT": "request-expired"})
        d = w.start(sb)
        w.wait_for_event(sb, down, "request-expired", timeout=10)
        got = w.show(sb, down)
        assert got["state"] == "expired" and got["closed_by"] == "lockbox-approvald", got

        # Every acknowledged state change is in the journal exactly once.
        for r_id, event in [(rid, "request-created"), (rid, "manager-approved"), (rid, "approver-approved"),
                            (timed, "request-expired"), (down, "request-expired")]:
            n = len(sb.journal(match={"LOCKBOX_REQUEST_ID": r_id, "LOCKBOX_EVENT": event}))
            assert n == 1, f"{event} for {r_id} appears {n} times"
        sb.stop_daemon(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

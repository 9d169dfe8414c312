#!/usr/bin/env python3
"""Refused calls cost a bounded amount (docs/approval.md, "Refused calls"):
a caller's first 20 refusals in a window are audited one by one, the rest are
counted into one calls-refused-summary, written at the latest when the service
stops; another caller keeps its own quota; and the outbox keeps nothing that
journald took."""
import os
import sqlite3
import sys

import lockbox_fixture as lf
import approvald_world as w

AUDITED = 20
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        w.setup(sb)
        d = w.start(sb)
        for i in range(AUDITED + 5):
            r = sb.busctl_call(w.BUS_NAME, "/org/lockbox/Approval1", "org.lockbox.Approval1", "ApproveRequest",
                               "stss", UNKNOWN_ID, "0", "", "", user="oscar")
            assert r.returncode != 0 and "denied" in (r.stdout + r.stderr).lower(), (r.returncode, r.stderr)
        w.expect_refused(sb, ["request", "approve", UNKNOWN_ID], "mallory", "denied")

        oscar = sb.journal(match={"LOCKBOX_EVENT": "call-refused", "LOCKBOX_ACTOR": "oscar"}, expect=AUDITED)
        mallory = sb.journal(match={"LOCKBOX_EVENT": "call-refused", "LOCKBOX_ACTOR": "mallory"}, expect=1)
        assert len(oscar) == AUDITED, f"{len(oscar)} call-refused records for oscar, {AUDITED} expected"
        assert len(mallory) == 1, mallory
        assert not sb.journal(match={"LOCKBOX_EVENT": "calls-refused-summary"}), "summary before the window closed"

        # The window is still open: stopping the service must not lose its count.
        assert sb.stop_daemon(d) == 0, d.log_text()
        summary = sb.journal(match={"LOCKBOX_EVENT": "calls-refused-summary"}, expect=1, timeout=15)
        assert len(summary) == 1, summary
        s = summary[0]
        assert s["LOCKBOX_ACTOR"] == "oscar" and s["LOCKBOX_CALLER_UID"] == str(w.USERS["oscar"][0]), s
        assert s["LOCKBOX_COUNT"] == "5" and s["LOCKBOX_TOTAL"] == str(AUDITED + 5), s
        assert s["MESSAGE_ID"] == "9ac8992edcb7494c8c8026924d9ca4bc", s

        db = os.path.join(sb.dir, "state", "approval", "requests.db")
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as c:
            rows = c.execute("SELECT COUNT(*) FROM audit_outbox").fetchone()[0]
        assert rows == 0, f"{rows} delivered records left in the outbox"
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

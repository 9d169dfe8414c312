#!/usr/bin/env python3
"""Attack: a local user with no Lockbox role floods lockbox-approvald with
10 000 calls it must refuse. Each refusal used to be an fsync'd outbox row that
was never deleted and a call-refused entry in the journal, so any local user
could grow the approval database and the journal without bound.

Required (docs/approval.md, "Refused calls"): per caller uid the first
AUDITED_PER_WINDOW refusals of each WINDOW_SEC window are audited one by one,
the rest are counted into one calls-refused-summary record per window; delivered
outbox rows are deleted. So after the flood:
  - every call was refused (AccessDenied), nothing else;
  - requests.db + its WAL stay under STORE_BOUND bytes, and the outbox is empty;
  - the journal holds at most AUDITED_PER_WINDOW call-refused records of the
    attacker per window the flood touched, and summaries whose counts add up to
    exactly the calls refused: nothing is hidden, only folded;
  - another user's refused call right after is still audited on its own.
"""
import math
import os
import sqlite3
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

CALLS = 10_000
AUDITED_PER_WINDOW = 20   # REFUSALS_AUDITED_PER_WINDOW, approvald/refusal_limiter.h
WINDOW_SEC = 60           # REFUSAL_WINDOW
# requests.db and requests.db-wal together. A fresh store with this test's few
# rows is ~100 KiB; unbounded, 10 000 refusals made it several MiB.
STORE_BOUND = 1 << 20
DB = "/var/lib/lockbox/approval/requests.db"


def store_size():
    return sum(os.path.getsize(p) for p in (DB, DB + "-wal") if os.path.exists(p))


def outbox_rows():
    # Read-only and immutable=0: the daemon keeps writing; WAL readers do not block it.
    with sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM audit_outbox").fetchone()[0]


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        flood = lf.build_path("tests/e2e/refused_call_flood")
        size_before = store_size()

        started = time.monotonic()
        r = subprocess.run(sb._as_user([flood, str(CALLS)], sc.OUTSIDER), capture_output=True, text=True,
                           timeout=120)
        flood_sec = time.monotonic() - started
        print(f"flood: {r.stdout.strip()} in {flood_sec:.1f} s; {r.stderr.strip()[:300]}")
        assert r.returncode == 0, f"not every call was refused with AccessDenied: {r.stdout} {r.stderr}"

        # The attacker's windows end at most WINDOW_SEC after the flood; wait for
        # the summaries (bounded) before judging the journal.
        windows = math.ceil(flood_sec / WINDOW_SEC) + 1

        def attacker_records():
            single = sb.journal(match={"LOCKBOX_EVENT": "call-refused", "LOCKBOX_ACTOR": sc.OUTSIDER})
            summaries = sb.journal(match={"LOCKBOX_EVENT": "calls-refused-summary",
                                          "LOCKBOX_ACTOR": sc.OUTSIDER})
            return single, summaries

        single, summaries = attacker_records()
        deadline = time.monotonic() + WINDOW_SEC + 45
        while len(single) + sum(int(s.get("LOCKBOX_COUNT", 0)) for s in summaries) < CALLS \
                and len(single) <= AUDITED_PER_WINDOW * windows and time.monotonic() < deadline:
            time.sleep(2)
            single, summaries = attacker_records()
        counted = sum(int(s.get("LOCKBOX_COUNT", 0)) for s in summaries)
        size_after = store_size()
        rows = outbox_rows()
        print(f"store {size_before} -> {size_after} bytes (db+wal), outbox rows {rows}; journal: "
              f"{len(single)} call-refused, {len(summaries)} summaries counting {counted}")

        assert size_after < STORE_BOUND, \
            f"requests.db+wal grew to {size_after} bytes (bound {STORE_BOUND}) after {CALLS} refused calls"
        assert rows == 0, f"{rows} rows left in the outbox after journald took them"
        assert len(single) <= AUDITED_PER_WINDOW * windows, \
            f"{len(single)} call-refused records for {CALLS} refusals in {flood_sec:.0f} s " \
            f"(at most {AUDITED_PER_WINDOW} per {WINDOW_SEC} s window expected)"
        assert len(summaries) <= windows, f"{len(summaries)} summaries for {windows} windows"
        assert len(single) + counted == CALLS, \
            f"{len(single)} audited + {counted} summarized != {CALLS} refused"
        for s in summaries:
            uid = int(e2e.getent("passwd", sc.OUTSIDER).split(":")[2])
            assert s.get("LOCKBOX_CALLER_UID") == str(uid), s
            assert s.get("MESSAGE_ID") == "9ac8992edcb7494c8c8026924d9ca4bc", s

        # The limiter is per uid: the flood did not use up anybody else's audit.
        r = sc.ctl(sb, ["request", "approve", "00000000-0000-4000-8000-000000000001"], user=sc.APPROVER)
        assert r.returncode != 0, r.stdout
        other = sb.journal(match={"LOCKBOX_EVENT": "call-refused", "LOCKBOX_ACTOR": sc.APPROVER},
                           expect=1, timeout=30)
        assert len(other) == 1, other
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""[Policy] KillGrace is SIGTERM ahead of exp (docs/enforcement.md): a process of
the engineer that handles SIGTERM receives it while the grant is still active,
and one that ignores SIGTERM is gone at exp all the same. The kill itself does
not wait for the grace, so nothing the engineer does with SIGTERM moves it."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockboxd_test_support as t  # noqa: E402
from lockbox_time import parse_rfc3339  # noqa: E402


def as_engineer(sb, uid, script):
    return sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "/bin/sh", "-c", script])


def main(sb, uids):
    t.setup_world(sb, policy={"KillGrace": "3s", "WarnBefore": "10m"})
    t.start_lockboxd(sb)
    jti = t.import_grant(sb, t.make_grant(sb, "grace", nbf=-1, exp=10)).stdout.strip()
    uid = t.uid_of(sb, jti)
    uids.append(uid)
    exp = parse_rfc3339(t.grants(sb)[jti]["exp"])
    box = os.path.join(sb.dir, "grace")
    os.mkdir(box)
    os.chown(box, uid, uid)
    stamp = os.path.join(box, "sigterm")
    as_engineer(sb, uid, f'trap "date +%s.%N > {stamp}" TERM; while :; do sleep 0.1; done')
    as_engineer(sb, uid, 'trap "" TERM; while :; do sleep 0.1; done')
    t.expect(time.time() < exp - 3, "setup too slow: the grace began before the processes ran")
    t.wait_gone(uid, timeout=exp - time.time() + 20)
    t.expect(os.path.exists(stamp), "the process that handles SIGTERM never got it")
    got = float(open(stamp).read())
    t.expect(got < exp, f"SIGTERM came {got - exp:.3f} s after exp: it must come KillGrace before")
    print(f"SIGTERM {exp - got:.2f} s before exp (KillGrace=3s)")
    allowed, reason = t.check_access(sb, "grace")
    t.expect(not allowed and reason == "expired", f"after exp: {allowed} {reason}")


if __name__ == "__main__":
    t.run(main)

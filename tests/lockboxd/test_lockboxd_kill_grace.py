#!/usr/bin/env python3
"""[Policy] KillGrace is SIGTERM ahead of exp (docs/enforcement.md): a process of
the engineer that handles SIGTERM receives it while the grant is still active,
and one that ignores SIGTERM is gone at exp all the same. The kill itself does
not wait for the grace, so nothing the engineer does with SIGTERM moves it."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockboxd_test_support as t  # noqa: E402
from lockbox_time import parse_rfc3339  # noqa: E402


def as_engineer(sb, uid, code):
    return sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                     PYTHON, "-c", code])


# The system interpreter: the engineer uid cannot reach a per-user one.
PYTHON = "/usr/bin/python3"

# Prints "ready" once the handler is in place, then the time it got SIGTERM
# (to the test's pipe: a file of the engineer's would go with the leftovers).
HANDLER = """
import signal, sys, time
def on_term(*_):
    print(repr(time.time()), flush=True)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""
IGNORER = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.1)
"""


def main(sb, uids):
    t.setup_world(sb, policy={"KillGrace": "3s", "WarnBefore": "10m"})
    t.start_lockboxd(sb)
    jti = t.import_grant(sb, t.make_grant(sb, "grace", nbf=-1, exp=10)).stdout.strip()
    uid = t.uid_of(sb, jti)
    uids.append(uid)
    exp = parse_rfc3339(t.grants(sb)[jti]["exp"])
    handler = sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                        PYTHON, "-c", HANDLER], stdout=subprocess.PIPE, text=True)
    as_engineer(sb, uid, IGNORER)
    t.expect(handler.stdout.readline().strip() == "ready", "the SIGTERM handler did not start")
    t.expect(time.time() < exp - 3, "setup too slow: the grace began before the processes ran")
    t.wait_gone(uid, timeout=exp - time.time() + 20)
    lines = handler.stdout.read().split()
    t.expect(lines, "the process that handles SIGTERM never got it")
    got = float(lines[0])
    t.expect(got < exp, f"SIGTERM came {got - exp:.3f} s after exp: it must come KillGrace before")
    print(f"SIGTERM {exp - got:.2f} s before exp (KillGrace=3s)")
    allowed, reason = t.check_access(sb, "grace")
    t.expect(not allowed and reason == "expired", f"after exp: {allowed} {reason}")


if __name__ == "__main__":
    t.run(main)

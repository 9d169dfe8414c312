#!/usr/bin/env python3
"""The audit outbox: with journald gone, a state change still commits and its
audit record waits in the store; once journald is back the daemon's retry timer
delivers it, exactly once and with the real actor."""
import signal
import sys

import lockbox_fixture as lf
import approvald_world as w


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        keys = w.setup(sb)
        journald = [p for p in sb.procs if p.args and "systemd-journald" in p.args[0]]
        if not journald:
            print("journald is not ours to stop (a host journald answers); skipping", file=sys.stderr)
            return 77
        d = w.start(sb)
        journald[0].send_signal(signal.SIGKILL)
        journald[0].wait(timeout=10)
        rid = w.create(sb, keys, user="eve")  # committed although journald is gone
        assert w.show(sb, rid)["state"] == "pending-manager"
        assert "not sent yet" in d.log_text(), d.log_text()  # it really was held back
        sb.start_journald()
        found = w.wait_for_event(sb, rid, "request-created", timeout=30)
        assert len(found) == 1 and found[0]["LOCKBOX_ACTOR"] == "eve", found
        sb.stop_daemon(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

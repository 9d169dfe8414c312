#!/usr/bin/env python3
"""The fixture's own promises: accounts, journald and the private bus work inside
the namespace and are gone from the host's view afterwards."""
import os
import subprocess
import sys
import uuid

import lockbox_fixture as lf


def main():
    lf.enter_namespace()
    host_passwd = open("/etc/passwd").read()
    with lf.Sandbox() as sb:
        sb.add_group("lockbox-managers", 2990)
        sb.add_user("fixture-alice", 2901, groups=["lockbox-managers"])
        ids = subprocess.run(["id", "fixture-alice"], capture_output=True, text=True).stdout
        assert "2901" in ids and "lockbox-managers" in ids, ids

        sb.start_journald()
        tag = str(uuid.uuid4())
        subprocess.run(["systemd-cat", "-t", "fixture-test"], input=f"hello {tag}\n",
                       text=True, check=True, timeout=10)
        entries = sb.journal(match={"SYSLOG_IDENTIFIER": "fixture-test"}, expect=1)
        assert any(tag in e.get("MESSAGE", "") for e in entries), entries

        sb.start_dbus()
        assert sb.name_has_owner("org.freedesktop.DBus")
        r = subprocess.run(["setpriv", "--reuid=fixture-alice", "--regid=2901", "--init-groups",
                            "busctl", "--system", "list", "--no-pager"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
    # The namespace's bind mounts are gone after close().
    assert open("/etc/passwd").read() == host_passwd
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Audit across the fleet (docs/fleet.md): a host's journal shipped to a
collector with systemd's own components, and one command that reconstructs a
request from the collected journal.

A host runs a request's whole life on a real sshd: filed, approved twice,
signed, a session opened, the grant revoked and the session killed. Its
journal goes through systemd-journal-upload to systemd-journal-remote (the
collector, here on 127.0.0.1; on a fleet over HTTPS with the tenant's CA), and
`lockboxctl audit --directory` on the collector's output shows the request's
history with the kill, the same as `lockboxctl audit` on the host.
"""
import json
import os
import shutil
import subprocess
import sys

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

UPLOAD = "/lib/systemd/systemd-journal-upload"
REMOTE = "/lib/systemd/systemd-journal-remote"
PORT = 19532

lf.enter_namespace()
if not (os.path.exists(UPLOAD) and os.path.exists(REMOTE)):
    lf.log("systemd-journal-upload/-remote missing (tools/deps.sh installs systemd-journal-remote); skipping")
    sys.exit(lf.SKIP)

EXPECTED = ["request-created", "manager-approved", "approver-approved", "grant-issued", "session-opened",
            "grant-revoked", "session-killed"]


def events(entries):
    return [e.get("LOCKBOX_EVENT") for e in entries]


def main():
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        key = sb.make_ssh_key(sc.ENGINEER)
        r = sc.create_request(sb, key + ".pub", duration="10m")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("passwd", sc.ENGINEER) is not None, 15, "the engineer resolves")
        session = sb.ssh_spawn(sc.ENGINEER, key, "sleep 600", stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uid = sc.engineer_uid()
        e2e.wait_for(lambda: e2e.processes_of_uid(uid), 15, "the engineer's session")
        r = sc.ctl(sb, ["grant", "revoke", rid, "--reason", "shipping test"], user=sc.APPROVER)
        assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: session.poll() is not None and not e2e.processes_of_uid(uid), 30, "the kill")

        def on_host():
            r = sc.ctl(sb, ["audit", "--request", rid, "--json"], user="root")
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)
        try:
            lf.wait_until(lambda: all(x in events(on_host()) for x in EXPECTED), 15, interval=0.2,
                          what="the whole history in the host's journal")
        except TimeoutError:
            raise AssertionError(f"host history incomplete: {events(on_host())}")

        # The collector, then the host's uploader (one pass: --follow=no).
        collected = os.path.join(sb.dir, "remote")
        os.makedirs(collected)
        remote = sb.spawn([REMOTE, f"--listen-http=127.0.0.1:{PORT}", f"--output={collected}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lf.wait_until(lambda: sb._port_open(PORT) or remote.poll() is not None, 10, what="journal-remote")
        assert remote.poll() is None, "systemd-journal-remote exited"
        r = subprocess.run([UPLOAD, f"--url=http://127.0.0.1:{PORT}", "--follow=no",
                            f"--save-state={sb.dir}/upload.state"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

        def collected_history():
            r = sc.ctl(sb, ["audit", "--directory", collected, "--request", rid, "--json"], user="root")
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)
        lf.wait_until(lambda: all(x in events(collected_history()) for x in EXPECTED), 20, interval=0.2,
                      what="the whole history in the collected journal")
        host, shipped = on_host(), collected_history()
        assert sorted(events(shipped)) == sorted(events(host)), (events(host), events(shipped))
        kills = [e for e in shipped if e.get("LOCKBOX_EVENT") == "session-killed"]
        assert kills and kills[0].get("LOCKBOX_ENGINEER") == sc.ENGINEER, kills
        files = [f for f in os.listdir(collected) if f.endswith(".journal")]
        print(f"{len(shipped)} records of request {rid} shipped through systemd-journal-upload -> "
              f"systemd-journal-remote ({', '.join(files)}); audit --directory matches the host's journal")
        shutil.rmtree(collected, ignore_errors=True)
    lf.log("PASS")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""One approval, the fleet's hosts (docs/fleet.md), on a real sshd.

A 3-member etcd cluster with TLS and auth; the tenant's approval service in
signer mode on a bus of its own; host db01 (groups: payments) with lockboxd,
lockbox-approvald in host mode and sshd. A request for "@payments" is approved
once on the signer: db01 admits the engineer. A request naming only web-1 never
reaches db01. The etcd leader is killed, then the grant revoked on the signer:
the engineer's session on db01 dies. db01's link to etcd is cut (nftables in
the test's network namespace drops its packets, no reset): it misses a grant
and a revocation and catches up when the link returns, once from its revision
and once after a forced compaction. With all of etcd down, a restarted
host-mode approvald still answers lockboxd from its mirror.
"""
import json
import os
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from etcd_cluster import have_etcd
from lockbox_fleet import approve, install_identity, on_signer, prepare, setup_signer

lf.enter_namespace()
if not have_etcd():
    lf.log("etcd or etcdctl missing (tools/deps.sh installs etcd-server, etcd-client); skipping")
    sys.exit(lf.SKIP)

def cut_link(cut):
    """Drops (no reset, as a cable pulled) every packet db01's approval service
    sends to etcd, or lets them through again."""
    uid = subprocess.run(["id", "-u", "lockbox-approval"], capture_output=True, text=True).stdout.strip()
    if cut:
        script = ("add table inet cut\n"
                  "add chain inet cut out { type filter hook output priority 0; }\n"
                  f"add rule inet cut out meta skuid {uid} tcp dport 23791-23793 drop\n")
    else:
        script = "delete table inet cut\n"
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, timeout=10)


def losses(daemon):
    return daemon.log_text().count("etcd not reachable")


def catch_up(sb, signer_bus, key, cluster, host_approvald, newcomer, leaver, compact):
    """Cut db01 off, approve newcomer and revoke leaver's grant on the signer,
    compact etcd if asked, restore the link; db01 must end up with both."""
    before = losses(host_approvald)
    cut_link(True)
    started = time.monotonic()
    lf.wait_until(lambda: losses(host_approvald) > before, 60, interval=0.2, what="db01 to notice the cut")
    print(f"db01 noticed the cut link after {time.monotonic() - started:.1f} s (gRPC keepalive)")
    rid, _ = approve(sb, signer_bus, key + ".pub", ["db01"], newcomer, "INC-30" + newcomer[:2])
    r = on_signer(sb, signer_bus, ["grant", "revoke", leaver, "--reason", "while cut off"], sc.APPROVER)
    assert r.returncode == 0, r.stderr
    time.sleep(1)
    assert e2e.getent("passwd", newcomer) is None, "a grant reached db01 through a cut link"
    # Root's fleet status still reaches etcd (the cut is the service's) and
    # counts what the mirror misses: one grant, one revocation.
    r = sc.ctl(sb, ["fleet", "status", "--json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mirror"]["behind"] == 2, r.stdout
    if compact:
        status = json.loads(cluster.etcdctl(["endpoint", "status", "-w", "json"]).stdout)
        revision = max(e["Status"]["header"]["revision"] for e in status)
        cluster.etcdctl(["compact", str(revision), "--physical"])
    cut_link(False)
    restored = time.monotonic()
    e2e.wait_for(lambda: e2e.getent("passwd", newcomer) is not None, 60, f"{newcomer} resolves after the link returned")
    print(f"link restored -> db01 caught up{' (after a compaction)' if compact else ''}: "
          f"{(time.monotonic() - restored) * 1000:.0f} ms")
    return rid


def main():
    with e2e.E2ESandbox() as sb:
        cluster = prepare(sb, ("db01", "web-1"))
        policy = {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s", "KillGrace": "1s"}
        sb.write_system_config({"Host": {"Tenant": sc.TENANT, "Name": "db01", "Groups": "payments"},
                                "Policy": policy, "Accounts": {"Record": "no"}, "Notify": {"Command": "/bin/true"},
                                "Fleet": dict(install_identity(cluster, "db01"), Mode="host")})
        sb.start_system_bus()
        host_approvald = sb.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
        sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
        sb.configure_login_stack()
        sb.start_sshd()
        signer_bus = setup_signer(sb, cluster, policy)
        key = sb.make_ssh_key("eve")

        # A host that follows the fleet files nothing itself.
        r = sc.ctl(sb, ["request", "create", "--tenant", sc.TENANT, "--ticket", "INC-1", "--host", "db01",
                        "--duration", "1h", "--reason", "x", "--ssh-key", key + ".pub", "--engineer", "eve"],
                   user=sc.CREATOR)
        assert r.returncode == 1 and "follows the fleet" in r.stderr, (r.returncode, r.stderr)

        # 1. A request for web-1 alone, then one for the group: db01 learns the
        # second (etcd keeps the order) and never the first.
        approve(sb, signer_bus, key + ".pub", ["web-1"], "fred", "INC-2001")
        rid, approved_at = approve(sb, signer_bus, key + ".pub", ["@payments", "web-9"], "eve", "INC-2002")
        e2e.wait_for(lambda: e2e.getent("passwd", "eve") is not None, 15, "eve resolves on db01")
        print(f"approval on the signer -> engineer resolves on db01: {(time.monotonic() - approved_at) * 1000:.0f} ms")
        assert e2e.getent("passwd", "fred") is None, "a grant for web-1 alone reached db01"
        r = sb.ssh("eve", key, "id -un")
        assert r.returncode == 0 and r.stdout.strip() == "eve", (r.returncode, r.stderr)

        # 2. The leader dies; the revocation still reaches db01 and ends the session.
        session = sb.ssh_spawn("eve", key, "sleep 600", stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uid = sc.engineer_uid()
        e2e.wait_for(lambda: e2e.processes_of_uid(uid), 15, "eve's session on db01")
        leader = cluster.leader()
        cluster.kill_member(leader)
        print(f"killed the etcd leader {leader}")
        r = on_signer(sb, signer_bus, ["grant", "revoke", rid, "--reason", "fleet test revocation"], sc.APPROVER)
        assert r.returncode == 0, r.stderr
        revoked_at = time.monotonic()
        e2e.wait_for(lambda: session.poll() is not None and not e2e.processes_of_uid(uid), 30,
                     "eve's session on db01 to end after the revocation")
        print(f"revocation on the signer -> last process on db01 gone: {(time.monotonic() - revoked_at) * 1000:.0f} ms "
              "(with the etcd leader killed just before)")
        r = sb.ssh("eve", key, "true")
        assert r.returncode == 255, "eve still admitted after the revocation"

        # 3. A cut link: db01 misses a grant and a revocation and catches up,
        # from its revision, then again after a forced compaction.
        cluster.start_member(leader)
        lf.wait_until(cluster.healthy, 30, interval=0.2, what="the cluster whole again")
        gina, _ = approve(sb, signer_bus, key + ".pub", ["db01"], "gina", "INC-2003")
        e2e.wait_for(lambda: e2e.getent("passwd", "gina") is not None, 15, "gina resolves on db01")
        hal = catch_up(sb, signer_bus, key, cluster, host_approvald, "hal", gina, compact=False)
        e2e.wait_for(lambda: e2e.getent("passwd", "gina") is None, 15, "gina's revocation on db01")
        rid2 = catch_up(sb, signer_bus, key, cluster, host_approvald, "ida", hal, compact=True)
        e2e.wait_for(lambda: e2e.getent("passwd", "hal") is None, 15, "hal's revocation on db01")
        # fleet status on db01: its mirror is up to date.
        r = sc.ctl(sb, ["fleet", "status", "--json"])
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["mode"] == "host" and st["mirror"]["behind"] == 0 and st["mirror"]["revision"] > 0, st
        assert "compacted" in host_approvald.log_text(), host_approvald.log_text()

        # 4. etcd entirely down: a new grant cannot arrive, but the mirror
        # answers a restarted host-mode approvald's GetHostGrants.
        for name in list(cluster.procs):
            cluster.kill_member(name)
        sb.stop_daemon(host_approvald)
        host_approvald = sb.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
        r = sb.busctl_call("org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1",
                           "GetHostGrants", "ss", sc.TENANT, "db01")
        assert r.returncode == 0, r.stderr
        reply = json.loads(r.stdout)["data"]
        assert [g[0] for g in reply[0]] == [rid2], reply
        ended = {e[0]: (e[1], e[2]) for e in reply[1]}
        assert ended.get(rid) == ("revoked", sc.APPROVER), reply
        assert gina in ended and hal in ended, reply
        mirror = "/var/lib/lockbox/approval/fleet-mirror.json"
        st = os.stat(mirror)
        assert st.st_mode & 0o077 == 0, oct(st.st_mode)
        assert "etcd not reachable" in host_approvald.log_text(), host_approvald.log_text()
    lf.log("PASS")


if __name__ == "__main__":
    main()

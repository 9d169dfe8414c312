#!/usr/bin/env python3
"""One approval, three hosts, one revocation (issue 12's end-to-end, docs/fleet.md).

A 3-member etcd cluster with TLS and auth; the tenant's signer and a workflow
instance wf1, each on a bus of its own; three tenant hosts, each in its own
mount, network and PID namespaces with its own lockbox.conf, lockboxd,
lockbox-approvald in host mode and sshd, linked to the sandbox by a veth
(tests/lib/lockbox_fleet_hosts.py): db01 and db02 in group payments, web-1 in
none. One request names db01, web-9 (no such host) and @payments; it is filed
and approved once, on wf1. The engineer logs in on db01 and db02 and is
refused on web-1. With a session open on db01 and on db02, the etcd leader is
killed, then the grant is revoked on wf1: every process of the engineer ends
on both hosts. Then db02's link is cut: it misses a grant and a revocation
that db01 gets, gives its stream up, and has both soon after the link returns.
"""
import subprocess
import sys
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from etcd_cluster import have_etcd
from lockbox_fleet import approve, on_signer, prepare, setup_instance, setup_signer
from lockbox_fleet_hosts import FleetHosts, gateways

lf.enter_namespace()
if not have_etcd():
    lf.log("etcd or etcdctl missing (tools/deps.sh installs etcd-server, etcd-client); skipping")
    sys.exit(lf.SKIP)

HOSTS = [("db01", ("payments",)), ("db02", ("payments",)), ("web-1", ())]
NAMED = ("db01", "db02")
POLICY = {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s", "KillGrace": "1s"}


def until_each(hosts, predicate, timeout, what):
    """Polls predicate(host) on every host until it holds on all; returns
    {host name: monotonic time it first held}."""
    seen = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(hosts):
        for host in hosts:
            if host.name not in seen and predicate(host):
                seen[host.name] = time.monotonic()
        if time.monotonic() > deadline:
            missing = [h.name for h in hosts if h.name not in seen]
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} on {missing}")
        time.sleep(0.02)
    return seen


def main():
    started = time.monotonic()
    with e2e.E2ESandbox() as sb, FleetHosts(sb, HOSTS) as fleet:
        cluster = prepare(sb, [name for name, _ in HOSTS], workflows=("wf1",),
                          extra_addresses=gateways(len(HOSTS)))
        setup_signer(sb, cluster, POLICY)
        wf1_bus, wf1_conf, _ = setup_instance(sb, cluster, POLICY, "wf1", "workflow")
        fleet.start(cluster, POLICY)
        named = [fleet[n] for n in NAMED]
        web = fleet["web-1"]
        key = sb.make_ssh_key("eve")
        lf.log(f"etcd, signer, wf1 and three hosts up in {time.monotonic() - started:.1f}s")

        # Each host resolves names from its own NSS cache: nobody yet.
        for host in fleet:
            assert host.getent("passwd", "eve") is None, host.name
            assert host.ssh("eve", key, "true").returncode == 255, host.name

        # 1. Filed and approved once, on the workflow instance.
        rid, approved_at = approve(sb, wf1_bus, key + ".pub", ["db01", "web-9", "@payments"], "eve",
                                   "INC-4001", conf=wf1_conf)
        resolved = until_each(named, lambda h: h.getent("passwd", "eve") is not None, 15,
                              "eve to resolve")
        for name in NAMED:
            print(f"approval on wf1 -> engineer resolves on {name}: "
                  f"{(resolved[name] - approved_at) * 1000:.0f} ms")
        # Give web-1 every chance to be wrong: as long again as the slower host took.
        time.sleep(max(resolved.values()) - approved_at)
        assert web.getent("passwd", "eve") is None, "a grant for db01, web-9 and @payments reached web-1"

        for host in named:
            r = host.ssh("eve", key, "id -un; cat /etc/lockbox/lockbox.conf")
            assert r.returncode == 0, (host.name, r.returncode, r.stderr)
            assert r.stdout.startswith("eve\n") and f"Name={host.name}\n" in r.stdout, (host.name, r.stdout)
        r = web.ssh("eve", key, "true")
        assert r.returncode == 255, ("web-1 admitted eve", r.returncode, r.stdout, r.stderr)

        # 2. A session on each named host; the etcd leader dies; one revocation on wf1.
        uids = {h.name: h.uid_of("eve") for h in named}
        sessions = {h.name: h.ssh_spawn("eve", key, "sleep 600", stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for h in named}
        until_each(named, lambda h: h.processes_of_uid(uids[h.name]), 15, "eve's session")
        leader = cluster.leader()
        cluster.kill_member(leader)
        lf.log(f"killed the etcd leader {leader}")
        revoked_at = time.monotonic()  # the call counts: it is the one that meets the dead leader
        r = on_signer(sb, wf1_bus, ["grant", "revoke", rid, "--reason", "fleet multihost revocation"],
                      sc.APPROVER, conf=wf1_conf)
        assert r.returncode == 0, r.stderr
        print(f"revocation call on wf1 returned after {(time.monotonic() - revoked_at) * 1000:.0f} ms")
        gone = until_each(named, lambda h: sessions[h.name].poll() is not None
                          and not h.processes_of_uid(uids[h.name]), 30, "eve's processes to end")
        for name in NAMED:
            print(f"revocation on wf1 (etcd leader killed just before; from the call) -> last process of eve "
                  f"on {name} gone: {(gone[name] - revoked_at) * 1000:.0f} ms")
        for host in named:
            assert host.getent("passwd", "eve") is None, host.name
            assert host.ssh("eve", key, "true").returncode == 255, f"{host.name} still admits eve"

        # 3. db02's link is cut (netns: its veth down): it misses a grant and a
        # revocation that db01 gets, and catches up when the link returns.
        fred, _ = approve(sb, wf1_bus, key + ".pub", ["@payments"], "fred", "INC-4002", conf=wf1_conf)
        until_each(named, lambda h: h.getent("passwd", "fred") is not None, 15, "fred to resolve")
        db01, db02 = named
        db02_approvald = db02.daemons["lockbox-approvald"]
        losses = db02_approvald.log_text().count("etcd not reachable")
        db02.set_link(False)
        cut_at = time.monotonic()
        approve(sb, wf1_bus, key + ".pub", ["@payments"], "gina", "INC-4003", conf=wf1_conf)
        r = on_signer(sb, wf1_bus, ["grant", "revoke", fred, "--reason", "while db02 is cut off"], sc.APPROVER,
                      conf=wf1_conf)
        assert r.returncode == 0, r.stderr
        until_each([db01], lambda h: h.getent("passwd", "gina") and not h.getent("passwd", "fred"), 15,
                   "gina's grant and fred's revocation on db01")
        time.sleep(1)
        assert db02.getent("passwd", "gina") is None, "a grant reached db02 through a cut link"
        assert db02.getent("passwd", "fred") is not None, "a revocation reached db02 through a cut link"
        # Restored only once db02 gave its stream up (gRPC keepalive), so that it
        # catches up on a new one, from the revision it had.
        lf.wait_until(lambda: db02_approvald.log_text().count("etcd not reachable") > losses, 40, interval=0.1,
                      what="db02 to notice the cut")
        print(f"db02 noticed the cut link after {time.monotonic() - cut_at:.1f} s")
        db02.set_link(True)
        restored = time.monotonic()
        caught_up = until_each([db02], lambda h: h.getent("passwd", "gina") and not h.getent("passwd", "fred"), 60,
                               "db02 to catch up")
        print(f"db02's link restored -> it has the grant and the revocation it missed, from its revision: "
              f"{(caught_up['db02'] - restored) * 1000:.0f} ms")
    lf.log(f"PASS in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()

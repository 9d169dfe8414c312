"""The narrated fleet behind tools/demo --fleet (docs/fleet.md): three tenant
hosts, one approval, logins on two, one revocation. Built on the hosts of
tests/fleet/test_fleet_multihost.py (tests/lib/lockbox_fleet_hosts.py)."""
import os
import subprocess
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from demo import keep_until_enter, say, show
from etcd_cluster import have_etcd
from lockbox_fleet import on_signer, prepare, setup_instance, setup_signer
from lockbox_fleet_hosts import FleetHosts, gateways

HOSTS = [("db01", ("payments",)), ("db02", ("payments",)), ("web-1", ())]
POLICY = {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s", "KillGrace": "1s"}


def on_wf1(sb, wf1, who, args):
    """lockboxctl as a person at the workflow instance wf1 (its bus, its config)."""
    bus, conf = wf1
    return show(f"{who}@wf1", ["lockboxctl"] + args, on_signer(sb, bus, args, who, conf=conf))


def on_host(host, args):
    return show(f"root@{host.name}", ["lockboxctl"] + args, host.ctl(args))


def wait_each(hosts, predicate, timeout, started=None):
    """{host name: seconds from started (default: now) until predicate(host) held}."""
    started = time.monotonic() if started is None else started
    seen = {}
    while len(seen) < len(hosts) and time.monotonic() - started < timeout:
        for host in hosts:
            if host.name not in seen and predicate(host):
                seen[host.name] = time.monotonic() - started
        time.sleep(0.02)
    return seen


def main(keep):
    if not have_etcd():
        print("etcd or etcdctl missing (tools/deps.sh installs etcd-server, etcd-client)")
        return 1
    lf.enter_namespace()
    with e2e.E2ESandbox(keep=keep) as sb, FleetHosts(sb, HOSTS) as fleet:
        say("Setting up a fleet for tenant 'contoso'")
        step = lambda text: print(f"  - {text}", flush=True)  # noqa: E731
        step("Installing the built tree into the sandbox (meson install)")
        cluster = prepare(sb, [name for name, _ in HOSTS], workflows=("wf1",), extra_addresses=gateways(len(HOSTS)))
        step("A 3-member etcd cluster with TLS, client certificates and auth; "
             "`lockboxctl fleet bootstrap` made the tenant's roles and users")
        setup_signer(sb, cluster, POLICY)
        step("The signer: lockbox-approvald in signer mode, the only holder of the signing key")
        bus, conf, _ = setup_instance(sb, cluster, POLICY, "wf1", "workflow")
        wf1 = (bus, conf)
        step("wf1: lockbox-approvald in workflow mode, where sam, mona and alex have accounts")
        fleet.start(cluster, POLICY, narrate=step)
        key = sb.make_ssh_key("eve")
        hosts = list(fleet)
        named = [fleet["db01"], fleet["db02"]]
        print("  Each host has its own network, mount and PID namespaces: its own lockbox.conf, bus,\n"
              "  NSS cache and sshd. eve (provider engineer) has an account on none of them.")

        say("Eve tries db01 without approval")
        show("eve", ["ssh", "eve@db01", "id"], fleet["db01"].ssh("eve", key, "id"))

        say("Sam files one request on wf1: hosts db01, web-9 and the group @payments")
        r = on_wf1(sb, wf1, "sam", ["request", "create", "--tenant", sc.TENANT, "--ticket", "INC-4001",
                                    "--host", "db01", "--host", "web-9", "--host", "@payments",
                                    "--duration", "10m", "--reason", "replication lag on the payments databases",
                                    "--ssh-key", key + ".pub", "--engineer", "eve"])
        if r.returncode != 0:
            return 1
        rid = r.stdout.strip()

        say("Mona (support manager) and alex (customer) approve, once, on wf1")
        on_wf1(sb, wf1, "mona", ["request", "approve", rid, "--comment", "ticket checked"])
        on_wf1(sb, wf1, "alex", ["request", "approve", rid])
        resolved = wait_each(named, lambda h: h.getent("passwd", "eve") is not None, 15)
        for host in hosts:
            line = host.getent("passwd", "eve") or "(no such user)"
            after = f"  ({resolved[host.name] * 1000:.0f} ms after alex's approval returned)" \
                if host.name in resolved else ""
            print(f"  {host.name}: getent passwd eve -> {line}{after}")
        on_host(fleet["db02"], ["fleet", "status"])

        say("Eve logs in on db01 and db02 (db02 is in group payments); web-1 is not named")
        command = "id -un; hostname; grep Groups= /etc/lockbox/lockbox.conf"
        for host in hosts:
            show("eve", ["ssh", f"eve@{host.name}", f"'{command}'"], host.ssh("eve", key, command))

        say("Eve keeps a session open on db01 and on db02")
        uids = {h.name: h.uid_of("eve") for h in named}
        sessions = {h.name: h.ssh_spawn("eve", key, "sleep 1000", stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for h in named}
        wait_each(named, lambda h: h.processes_of_uid(uids[h.name]), 15)
        for host in named:
            on_host(host, ["session", "list"])

        leader = cluster.leader()
        say(f"The etcd leader ({leader}) is killed")
        cluster.kill_member(leader)
        print("  The two other members elect a new leader; the hosts' watches move to a live member.")

        say("Alex revokes the grant, once, on wf1")
        started = time.monotonic()
        on_wf1(sb, wf1, "alex", ["grant", "revoke", rid, "--reason", "work done"])
        gone = wait_each(named, lambda h: sessions[h.name].poll() is not None
                         and not h.processes_of_uid(uids[h.name]), 30, started)
        for host in named:
            when = f"{gone[host.name] * 1000:.0f} ms after alex's call" if host.name in gone else "NOT gone"
            print(f"  {host.name}: every process of eve gone {when}; "
                  f"getent passwd eve -> {host.getent('passwd', 'eve') or '(no such user)'}")
        show("eve", ["ssh", "eve@db01", "id"], fleet["db01"].ssh("eve", key, "id"))

        if keep:
            keep_until_enter(
                [f"In another terminal: nsenter --target {os.getpid()} --mount --net  (etcd, the signer, wf1)"] +
                [f"{host.name}: nsenter --target {host.init_pid} --mount --net --uts --pid"
                 f"  (ssh -p {e2e.SSH_PORT} -i {key} eve@{host.address})" for host in hosts])
        say("Tearing the sandbox down")
    return 0

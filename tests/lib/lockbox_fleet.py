"""A tenant's fleet in the e2e sandbox (docs/fleet.md): the signer's approval
service on a bus of its own, running as a user of its own, and the etcd client
identities installed as the operator guide says. Used by tests/fleet and by
bench/bench_fleet.py.
"""
import os
import shutil
import subprocess
import time

import lockbox_fixture as lf
import lockbox_scenario as sc
from etcd_cluster import EtcdCluster

SIGNER_USER = "lockbox-signer"  # its own uid, so nftables can cut db01 off and not the signer
SIGNER_BUS_DIR = "/run/dbus-signer"
SIGNER_CONF = "/etc/lockbox/signer.conf"
FLEET_DIR = "/etc/lockbox/fleet"


def start_signer_bus(sb, bus_dir=SIGNER_BUS_DIR):
    """A second system bus for the tenant's approval service: on a real fleet it
    runs on its own machine; here it only needs its own bus."""
    os.makedirs(bus_dir, exist_ok=True)
    with open("/usr/share/dbus-1/system.conf") as f:
        text = f.read()
    text = text.replace("<listen>unix:path=/run/dbus/system_bus_socket</listen>",
                        f"<listen>unix:path={bus_dir}/socket</listen>")
    text = text.replace("<pidfile>/run/dbus/pid</pidfile>", "")
    text = text.replace("<includedir>system.d</includedir>", "<includedir>/usr/share/dbus-1/system.d</includedir>")
    # The installed policy lets lockbox-approval own the name; here the signer
    # runs as a user of its own.
    text = text.replace("</busconfig>", f'<policy user="{SIGNER_USER}"><allow own="org.lockbox.Approval1"/>'
                                         "</policy>\n</busconfig>")
    conf = os.path.join(bus_dir, "system.conf")
    with open(conf, "w") as f:
        f.write(text)
    sb.spawn(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"])
    address = f"unix:path={bus_dir}/socket"
    lf.wait_until(lambda: os.path.exists(f"{bus_dir}/socket"), 10, what="the signer's bus")
    return address


def install_identity(cluster, name, owner="lockbox-approval"):
    """The etcd client identity of a fleet component, as the operator guide
    installs it: key owned by the service's user, mode 0600."""
    os.makedirs(FLEET_DIR, exist_ok=True)
    shutil.copy(cluster.ca.cert, os.path.join(FLEET_DIR, "ca.crt"))
    cert, key = cluster.identity(name)
    shutil.copy(cert, os.path.join(FLEET_DIR, f"{name}.crt"))
    shutil.copy(key, os.path.join(FLEET_DIR, f"{name}.key"))
    os.chmod(os.path.join(FLEET_DIR, f"{name}.key"), 0o600)
    shutil.chown(os.path.join(FLEET_DIR, f"{name}.key"), owner, owner)
    for f in ("ca.crt", f"{name}.crt"):
        os.chmod(os.path.join(FLEET_DIR, f), 0o644)
    return {"Endpoints": ",".join(cluster.endpoints), "CAFile": os.path.join(FLEET_DIR, "ca.crt"),
            "CertFile": os.path.join(FLEET_DIR, f"{name}.crt"), "KeyFile": os.path.join(FLEET_DIR, f"{name}.key")}


def on_signer(sb, address, args, user, conf=SIGNER_CONF):
    argv = sb._as_user(["lockboxctl", "--config", conf] + list(args), user)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address))


def approve(sb, address, key_pub, hosts, engineer, ticket, conf=SIGNER_CONF):
    args = ["request", "create", "--tenant", sc.TENANT, "--ticket", ticket, "--duration", "10m",
            "--reason", "fleet test", "--ssh-key", key_pub, "--engineer", engineer]
    for h in hosts:
        args += ["--host", h]
    r = on_signer(sb, address, args, sc.CREATOR, conf)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.strip()
    for who in (sc.MANAGER, sc.APPROVER):
        r = on_signer(sb, address, ["request", "approve", rid], who, conf)
        assert r.returncode == 0, (who, r.stderr)
    return rid, time.monotonic()


def start_signer(sb, address, conf=SIGNER_CONF, name="signer"):
    """lockbox-approvald with conf on its own bus, as SIGNER_USER."""
    log_path = os.path.join(sb.dir, f"{name}-approvald.log")
    with open(log_path, "ab") as logf:
        proc = sb.spawn(["setpriv", f"--reuid={SIGNER_USER}", f"--regid={sb.gid_of(SIGNER_USER)}", "--clear-groups",
                         "--", "/usr/sbin/lockbox-approvald", "--config", conf], stdout=logf,
                        stderr=subprocess.STDOUT, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address))
    daemon = lf.Daemon(f"{name}-approvald", proc, log_path)

    def owned():
        r = subprocess.run(["busctl", "--address", address, "status", "org.lockbox.Approval1"],
                           capture_output=True, timeout=10)
        return r.returncode == 0 or proc.poll() is not None
    lf.wait_until(owned, 15, what=f"{name} on its bus")
    if proc.poll() is not None:
        raise RuntimeError(f"{name} exited {proc.returncode}:\n{daemon.log_text()}")
    return daemon




def setup_signer(sb, cluster, policy, with_daemon=False):
    """The signer's user, key copy, state directory, configuration, bus and daemon;
    returns the bus address. The cluster must have been bootstrapped with
    --signer approval."""
    sb.add_user(SIGNER_USER, 2810)
    os.makedirs("/etc/lockbox/signer", mode=0o700)
    shutil.copy("/etc/lockbox/private/signing.secret", "/etc/lockbox/signer/signing.secret")
    for path in ("/etc/lockbox/signer", "/etc/lockbox/signer/signing.secret"):
        shutil.chown(path, SIGNER_USER, SIGNER_USER)
    os.makedirs("/var/lib/lockbox-signer", exist_ok=True)
    shutil.chown("/var/lib/lockbox-signer", SIGNER_USER, SIGNER_USER)
    signer_uid = subprocess.run(["id", "-u", SIGNER_USER], capture_output=True, text=True).stdout.strip()
    sb.write_config_file(SIGNER_CONF, {
        "Host": {"Tenant": sc.TENANT, "Name": "approval"}, "Policy": policy,
        "Accounts": {"Record": "no"}, "Notify": {"Command": "/bin/true"},
        "Paths": {"StateDir": "/var/lib/lockbox-signer"},
        "Keys": {"SigningKey": "/etc/lockbox/signer/signing.secret", "KeyOwner": signer_uid},
        "Fleet": dict(install_identity(cluster, "approval", owner=SIGNER_USER), Mode="signer")})
    address = start_signer_bus(sb)
    daemon = start_signer(sb, address)
    return (address, daemon) if with_daemon else address


def setup_instance(sb, cluster, policy, name, mode):
    """Another approval service of the tenant (a standby signer, a workflow
    instance) on a bus of its own, as SIGNER_USER, with etcd identity name;
    setup_signer must have run. Returns (bus address, config path, daemon)."""
    conf = f"/etc/lockbox/{name}.conf"
    state = f"/var/lib/lockbox-{name}"
    os.makedirs(state, exist_ok=True)
    shutil.chown(state, SIGNER_USER, SIGNER_USER)
    signer_uid = subprocess.run(["id", "-u", SIGNER_USER], capture_output=True, text=True).stdout.strip()
    keys = {"KeyOwner": signer_uid}
    if mode == "signer":
        keys["SigningKey"] = "/etc/lockbox/signer/signing.secret"
    sb.write_config_file(conf, {
        "Host": {"Tenant": sc.TENANT, "Name": name}, "Policy": policy,
        "Accounts": {"Record": "no"}, "Notify": {"Command": "/bin/true"},
        "Paths": {"StateDir": state}, "Keys": keys,
        "Fleet": dict(install_identity(cluster, name, owner=SIGNER_USER), Mode=mode)})
    address = start_signer_bus(sb, f"/run/dbus-{name}")
    return address, conf, start_signer(sb, address, conf, name)


def bootstrap(cluster, signer="approval", hosts=(), signers=(), workflows=()):
    root_cert, root_key = cluster.identity("root")
    argv = ["lockboxctl", "fleet", "bootstrap", "--endpoints", ",".join(cluster.endpoints),
            "--cacert", cluster.ca.cert, "--cert", root_cert, "--key", root_key,
            "--tenant", sc.TENANT, "--signer", signer]
    for s in signers:
        argv += ["--signer", s]
    for w in workflows:
        argv += ["--workflow", w]
    for h in hosts:
        argv += ["--host", h]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"fleet bootstrap: {r.stderr}")


def prepare(sb, hosts, signers=(), workflows=(), extra_addresses=()):
    """The built tree installed, journald, the people of lockbox_scenario, the
    signing key, a 3-member etcd cluster bootstrapped for the signer and hosts
    (also reachable at extra_addresses, see EtcdCluster); returns the cluster."""
    sb.install()
    sb.start_journald()
    for name, gid in sc.GROUPS.items():
        sc.ensure_group(sb, name, gid)
    sb.add_user(sc.CREATOR, 2801, groups=["lockbox-managers"])
    sb.add_user(sc.MANAGER, 2802, groups=["lockbox-managers"])
    sb.add_user(sc.APPROVER, 2803, groups=["lockbox-approvers"])
    sb.generate_signing_key()
    cluster = EtcdCluster(sb, extra_addresses=extra_addresses).start()
    bootstrap(cluster, hosts=hosts, signers=signers, workflows=workflows)
    return cluster

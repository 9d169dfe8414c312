"""Tenant hosts of a fleet, each in namespaces of its own, inside an E2ESandbox
(docs/fleet.md): used by tests/fleet/test_fleet_multihost.py and tools/demo --fleet.

A host is a long-lived `unshare --mount --net --uts --pid` holder (so it has
its own hostname too); everything of the host runs in it through `nsenter`.
Its own mount view gives it its own /etc/lockbox (lockbox.conf with its
[Host] Name= and Groups=, its etcd identity), /run (system bus, lockboxd's NSS
cache, sshd) and /var/lib/lockbox (the approval service's mirror, the
engineers' homes); the rest of the sandbox's installed tree (/usr,
/etc/passwd, the PAM stack, sshd's configuration) and its journald are shared.
Its own PID namespace is not optional: lockboxd sweeps the lockbox uid range in
/proc, and a host that saw another host's sessions would end them.

A veth pair links each host's network namespace to the sandbox's:
10.77.N.1 on the sandbox's side (etcd listens there, see EtcdCluster's
extra_addresses), 10.77.N.2 in the host, where its sshd listens.

Every process is started by pid and ended by pid: the daemons first (SIGTERM
to the process nsenter forked into the host), then the holder, whose death
ends whatever the host still holds (the kernel kills a PID namespace with its
init).
"""
import os
import shutil
import signal
import subprocess
import time

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc


def gateway(index):
    """The sandbox's address on host index's link (index from 1)."""
    return f"10.77.{index}.1"


def gateways(count):
    return [gateway(i + 1) for i in range(count)]


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


class TenantHost:
    """One tenant host: lockboxd, lockbox-approvald in host mode and sshd."""

    def __init__(self, sb, index, name, groups=()):
        self.sb = sb
        self.index = index
        self.name = name
        self.groups = tuple(groups)
        self.gateway = gateway(index)
        self.address = f"10.77.{index}.2"
        self.link = f"lbx-host{index}"
        self.dir = os.path.join(sb.root, "hosts", name)
        self.holder = None      # the unshare process (in the sandbox's PID namespace)
        self.init_pid = None    # its child: PID 1 of the host's namespaces
        self.pid_namespace = None
        self.procs = []         # nsenter processes, each with one child in the host
        self.daemons = {}

    # -- namespaces ----------------------------------------------------------
    def _enter(self, pid_namespace=True):
        argv = ["nsenter", "-t", str(self.init_pid), "--mount", "--net", "--uts"]
        return argv + (["--pid"] if pid_namespace else []) + ["--"]

    @staticmethod
    def _env():
        # The host's processes find its bus at the default path of their /run.
        return {k: v for k, v in os.environ.items() if k != "DBUS_SYSTEM_BUS_ADDRESS"}

    def run(self, argv, check=False, timeout=30, **kw):
        """A short command in the host's mount, network and UTS namespaces (not
        its PID namespace: nothing of it stays behind to end)."""
        return subprocess.run(self._enter(pid_namespace=False) + list(argv), check=check, timeout=timeout,
                              env=self._env(), **kw)

    def spawn(self, argv, **kw):
        """A long-lived process inside the host (all its namespaces)."""
        proc = subprocess.Popen(self._enter() + list(argv), env=self._env(), **kw)
        self.procs.append(proc)
        return proc

    def create(self, etc_lockbox, var_lib_lockbox, run):
        """The holder, the host's own directories mounted in its view, its link."""
        # Its stderr to a file: unshare says "sigprocmask unblock failed" when
        # its child dies of SIGKILL (util-linux 2.38), as the end of a host does.
        with open(os.path.join(self.sb.dir, f"{self.name}-holder.log"), "ab") as log:
            self.holder = self.sb.spawn(["unshare", "--mount", "--net", "--uts", "--pid", "--fork", "--kill-child",
                                         "--mount-proc", "--propagation", "private", "sleep", "infinity"],
                                        stdout=log, stderr=log)
        lf.wait_until(lambda: _children(self.holder.pid) or self.holder.poll() is not None, 10, interval=0.01,
                      what=f"{self.name}'s namespaces")
        self.init_pid = _children(self.holder.pid)[0]

        def exec_done():
            with open(f"/proc/{self.init_pid}/comm") as f:
                return f.read().strip() == "sleep"
        lf.wait_until(exec_done, 10, interval=0.01, what=f"{self.name}'s holder")
        self.pid_namespace = _pid_namespace(self.init_pid)
        # journald is the sandbox's: every host logs to it through the same
        # socket directory, as if its journal were shipped to one collector.
        os.makedirs(os.path.join(run, "systemd", "journal"), exist_ok=True)
        script = "\n".join([
            "set -e",
            f"mount --bind /run/systemd/journal {run}/systemd/journal",
            f"mount --rbind {run} /run",
            f"mount --bind {etc_lockbox} /etc/lockbox",
            f"mount --bind {var_lib_lockbox} /var/lib/lockbox",
        ])
        self.run(["sh", "-c", script], check=True, capture_output=True)
        subprocess.run(["ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0",
                        "netns", str(self.init_pid)], check=True)
        subprocess.run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.link], check=True)
        subprocess.run(["ip", "link", "set", self.link, "up"], check=True)
        self.run(["sh", "-c", f"ip link set lo up && ip addr add {self.address}/24 dev eth0 && ip link set eth0 up"
                  f" && hostname {self.name}"], check=True)
        # What systemd-tmpfiles does at boot, in the host's own directories.
        self.run(["systemd-tmpfiles", "--create", "/usr/lib/tmpfiles.d/lockbox.conf"], capture_output=True)

    # -- services ------------------------------------------------------------
    def bus_address(self):
        """The host's system bus as the sandbox reaches it (the socket's directory is visible outside)."""
        return f"unix:path={self.dir}/run/dbus/system_bus_socket"

    def name_has_owner(self, name):
        r = subprocess.run(["busctl", "--address", self.bus_address(), "status", name], capture_output=True,
                           timeout=10)
        return r.returncode == 0

    def start_system_bus(self):
        read_fd, write_fd = os.pipe()
        proc = self.spawn(["dbus-daemon", "--system", "--nofork", "--nopidfile", f"--print-address={write_fd}"],
                          pass_fds=(write_fd,))
        os.close(write_fd)
        import select
        with os.fdopen(read_fd, "rb") as pipe:
            ready, _, _ = select.select([pipe], [], [], 10)
            if not ready or not pipe.readline():
                raise RuntimeError(f"{self.name}: dbus-daemon did not start")
        return proc

    def start_lockbox_daemon(self, binary, bus_name):
        name = os.path.basename(binary)
        log_path = os.path.join(self.sb.dir, f"{self.name}-{name}.log")
        with open(log_path, "ab") as logf:
            proc = self.spawn(self.sb.unit_credentials(binary) + [binary], stdout=logf, stderr=subprocess.STDOUT)
        daemon = lf.Daemon(f"{self.name}/{name}", proc, log_path)
        lf.wait_until(lambda: proc.poll() is not None or self.name_has_owner(bus_name), 15, interval=0.05,
                      what=f"{bus_name} on {self.name}")
        if proc.poll() is not None:
            raise RuntimeError(f"{self.name}: {binary} exited {proc.returncode}:\n{daemon.log_text()}")
        self.daemons[name] = daemon
        return daemon

    def start_sshd(self):
        proc = self.spawn(["/usr/sbin/sshd", "-D"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lf.wait_until(lambda: self.sb._port_open(e2e.SSH_PORT, self.address) or proc.poll() is not None, 10,
                      what=f"sshd on {self.name}")
        if proc.poll() is not None:
            raise RuntimeError(f"{self.name}: sshd exited at start")
        return proc

    def set_link(self, up):
        """Cuts the host's only link (the sandbox's end of its veth down: no
        reset, no packet, as a cable pulled) or restores it."""
        subprocess.run(["ip", "link", "set", self.link, "up" if up else "down"], check=True)

    # -- what a test looks at ------------------------------------------------
    def getent(self, database, key):
        r = self.run(["getent", database, key], capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None

    def uid_of(self, user):
        line = self.getent("passwd", user)
        return int(line.split(":")[2]) if line else None

    def processes_of_uid(self, uid):
        """Live pids of uid on this host (its PID namespace), in the sandbox's view."""
        return [p for p in e2e.processes_of_uid(uid) if _pid_namespace(p) == self.pid_namespace]

    def ssh(self, user, key, command, **kw):
        return self.sb.ssh(user, key, command, address=self.address, **kw)

    def ssh_spawn(self, user, key, command, **kw):
        return self.sb.ssh_spawn(user, key, command, address=self.address, **kw)

    def ctl(self, args, timeout=30):
        """lockboxctl as root on the host."""
        return self.run(["lockboxctl"] + list(args), capture_output=True, text=True, timeout=timeout)

    # -- the end -------------------------------------------------------------
    def close(self):
        for proc in reversed(self.procs):
            self._end(proc)
        self.procs.clear()
        if self.holder is None:
            return
        if self.init_pid is not None and self.holder.poll() is None:
            # unshare ignores SIGTERM while it waits; the host's PID 1 takes
            # SIGKILL from this (ancestor) namespace, and the kernel ends every
            # process still in the host's PID namespace with it.
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        lf.Sandbox._end(self.holder)

    def _end(self, proc, grace=5.0):
        """SIGTERM to the process inside the host, then nsenter returns with it."""
        if proc.poll() is not None:
            return
        inner = _children(proc.pid)
        for pid in inner:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            for pid in inner:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.kill()
            proc.wait(timeout=5)


class FleetHosts:
    """N tenant hosts of one tenant, following cluster; a context manager that
    ends every host's processes when the block ends, also on failure.

    specs: [(name, groups)], in order; host i (from 1) gets link 10.77.i.0/24,
    so the cluster must have been made with extra_addresses=gateways(len(specs))."""

    def __init__(self, sb, specs):
        self.sb = sb
        self.hosts = {name: TenantHost(sb, i + 1, name, groups) for i, (name, groups) in enumerate(specs)}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # The sandbox's directory goes with it: show what the hosts said.
            import glob
            for path in glob.glob(os.path.join(self.sb.dir, "*-approvald.log")):
                with open(path, errors="replace") as f:
                    lf.log(f"--- {os.path.basename(path)} ---\n" + "\n".join(f.read().splitlines()[-15:]))
            for host in self:
                for daemon in host.daemons.values():
                    lf.log(f"--- {daemon.name} (last lines) ---\n" + "\n".join(daemon.log_text().splitlines()[-15:]))
        self.close()
        return False

    def __getitem__(self, name):
        return self.hosts[name]

    def __iter__(self):
        return iter(self.hosts.values())

    def close(self):
        for host in reversed(list(self.hosts.values())):
            host.close()

    def start(self, cluster, policy, narrate=lambda text: None):
        """Configures and starts every host, as the operator guide sets a host up
        (docs/fleet.md, "Set-up, step by step", step 5); returns self."""
        # The PAM stack, nsswitch.conf and sshd's configuration are the sandbox's, shared by every host.
        self.sb.configure_login_stack()
        self.sb.write_sshd_config(listen_address="0.0.0.0")
        for host in self:
            started = time.monotonic()
            self._configure(host, cluster, policy)
            host.start_system_bus()
            host.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
            host.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
            host.start_sshd()
            groups = ",".join(host.groups) or "none"
            narrate(f"{host.name} ({host.address}, groups: {groups}): lockboxd, lockbox-approvald "
                    f"in host mode and sshd up in {time.monotonic() - started:.1f}s")
        return self

    def _configure(self, host, cluster, policy):
        """The host's own /etc/lockbox (the signer's public key, its identity and
        nothing else of the sandbox's: no signing key, no other identity),
        /var/lib/lockbox and /run."""
        etc = os.path.join(host.dir, "etc-lockbox")
        var = os.path.join(host.dir, "var-lib-lockbox")
        run = os.path.join(host.dir, "run")
        for d in (etc, var, run, os.path.join(run, "dbus"), os.path.join(run, "sshd")):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.chmod(host.dir, 0o755)
        shutil.copytree("/etc/lockbox/trusted.d", os.path.join(etc, "trusted.d"))
        fleet = os.path.join(etc, "fleet")
        os.makedirs(fleet)
        shutil.copy(cluster.ca.cert, os.path.join(fleet, "ca.crt"))
        cert, key = cluster.identity(host.name)
        shutil.copy(cert, os.path.join(fleet, f"{host.name}.crt"))
        shutil.copy(key, os.path.join(fleet, f"{host.name}.key"))
        for f in ("ca.crt", f"{host.name}.crt"):
            os.chmod(os.path.join(fleet, f), 0o644)
        os.chmod(os.path.join(fleet, f"{host.name}.key"), 0o600)
        shutil.chown(os.path.join(fleet, f"{host.name}.key"), "lockbox-approval", "lockbox-approval")
        hostsec = {"Tenant": sc.TENANT, "Name": host.name}
        if host.groups:
            hostsec["Groups"] = ",".join(host.groups)
        in_host = "/etc/lockbox/fleet"
        self.sb.write_config_file(os.path.join(etc, "lockbox.conf"), {
            "Host": hostsec, "Policy": policy, "Accounts": {"Record": "no"}, "Notify": {"Command": "/bin/true"},
            "Fleet": {"Mode": "host", "Endpoints": ",".join(cluster.endpoints_at(host.gateway)),
                      "CAFile": f"{in_host}/ca.crt", "CertFile": f"{in_host}/{host.name}.crt",
                      "KeyFile": f"{in_host}/{host.name}.key"}})
        # What systemd-tmpfiles creates at boot and login tooling expects.
        utmp = os.path.join(run, "utmp")
        with open(utmp, "w"):
            pass
        subprocess.run(["chown", "root:utmp", utmp], check=False)
        os.chmod(utmp, 0o664)
        host.create(etc, var, run)

"""The end-to-end sandbox: Lockbox installed and running as an admin would deploy
it, inside the test's mount + network namespace.

/etc, /usr and /var become overlays (writes land on a tmpfs, the host's files stay
as they are) and /run a fresh tmpfs, so `meson install` can put every file where a
package would, Debian's stock /etc/pam.d/sshd gets only the pam_lockbox lines,
nsswitch.conf gets `lockbox`, and a real sshd listens on 127.0.0.1. The D-Bus
system bus is Debian's own system.conf, which picks the installed lockbox policy
up from /usr/share/dbus-1/system.d like on a real host.
"""
import os
import shutil
import subprocess
import time

import lockbox_fixture as lf

SSH_PORT = 2222
LOCKBOX_SSHD_DROPIN = "/etc/ssh/sshd_config.d/lockbox.conf"
SHIPPED_SSHD_DROPIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sshd", "lockbox.conf")
MULTIARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                           text=True).stdout.strip() or "x86_64-linux-gnu"


class E2ESandbox(lf.Sandbox):
    """Sandbox with the built tree installed into the namespace's own view."""

    def __init__(self, keep=False):
        super().__init__(keep=keep)
        self.root = None
        self.sshd = None
        self.daemons = {}

    def __enter__(self):
        super().__enter__()
        # A root-owned, non-world-writable base: sshd refuses an
        # AuthorizedKeysCommand below a world-writable directory such as /tmp.
        self.mount_tmpfs("/mnt", mode="0755")
        self.root = "/mnt/lockbox-e2e"
        os.makedirs(self.root, mode=0o755)
        host_journal = os.path.exists("/run/systemd/journal/socket") and self._journald_alive()
        for path in ("/etc", "/usr", "/var"):
            self._overlay(path)
        self.mount_tmpfs("/run", mode="0755")
        # What systemd-tmpfiles creates at boot and login tooling (utempter,
        # under tlog-rec-session) expects.
        with open("/run/utmp", "w"):
            pass
        subprocess.run(["chown", "root:utmp", "/run/utmp"], check=False)
        os.chmod("/run/utmp", 0o664)
        self._private_dev()
        if host_journal:
            os.makedirs("/run/systemd/journal", exist_ok=True)
        self.accounts_ready = True  # /etc is an overlay: account files are writable copies
        return self

    def _overlay(self, path):
        name = path.strip("/").replace("/", "-")
        upper = os.path.join(self.root, "upper", name)
        work = os.path.join(self.root, "work", name)
        os.makedirs(upper)
        os.makedirs(work)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={path},upperdir={upper},workdir={work}", path], check=True)
        self.mounts.append(path)

    def _private_dev(self):
        """/dev as an overlay (for /dev/log) with its own devpts and /dev/shm.

        The overlay hides the host's submounts; a new devpts instance gives sshd
        ptys that belong to this namespace alone, and a private /dev/shm lets the
        tests check what an engineer left there."""
        self._overlay("/dev")
        subprocess.run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620,gid=5",
                        "devpts", "/dev/pts"], check=True)
        self.mounts.append("/dev/pts")
        if os.path.lexists("/dev/ptmx"):
            self.mount_bind("/dev/pts/ptmx", "/dev/ptmx")
        self.mount_tmpfs("/dev/shm", mode="1777")

    def start_journald(self):
        os.makedirs("/run/systemd/journal", exist_ok=True)
        os.makedirs("/run/log/journal", exist_ok=True)
        # /var is an overlay of the host's: hide a persistent host journal, so
        # journalctl here reads this sandbox's entries only.
        if os.path.isdir("/var/log/journal"):
            self.mount_tmpfs("/var/log/journal")
        conf = os.path.join(self.dir, "journald.conf")
        with open(conf, "w") as f:
            f.write("[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\n"
                    "ForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n")
        os.makedirs("/etc/systemd", exist_ok=True)
        shutil.copy(conf, "/etc/systemd/journald.conf")
        proc = self.spawn(["/lib/systemd/systemd-journald"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        lf.wait_until(lambda: os.path.exists("/run/systemd/journal/dev-log") or proc.poll() is not None,
                      10, what="journald sockets")
        if proc.poll() is not None:
            raise RuntimeError("systemd-journald exited at start")
        # /dev/log reaches journald so pam_syslog and sshd lines are kept.
        if not os.path.lexists("/dev/log"):
            os.symlink("/run/systemd/journal/dev-log", "/dev/log")
        return proc

    # -- install -------------------------------------------------------------
    def install(self):
        stage = os.path.join(self.root, "stage")
        r = subprocess.run(["meson", "install", "-C", lf.BUILD_ROOT, "--destdir", stage,
                            "--no-rebuild", "--quiet"], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"meson install failed:\n{r.stdout}\n{r.stderr}")
        # tar keeps merged-/usr symlinks (/lib -> usr/lib) where cp would refuse.
        subprocess.run(f"tar -C {stage} -cf - . | tar -C / -xf - --keep-directory-symlink "
                       "--no-same-owner", shell=True, check=True)
        subprocess.run(["ldconfig"], check=False)
        # sysusers/tmpfiles as systemd would apply them at boot.
        for tool, conf_dir in (("systemd-sysusers", "/usr/lib/sysusers.d"),
                               ("systemd-tmpfiles", "/usr/lib/tmpfiles.d")):
            conf = os.path.join(conf_dir, "lockbox.conf")
            if os.path.exists(conf) and shutil.which(tool):
                args = [tool, conf] if tool == "systemd-sysusers" else [tool, "--create", conf]
                subprocess.run(args, check=False, capture_output=True, timeout=60)
        for d in ("/etc/lockbox/trusted.d", "/etc/lockbox/private", "/var/lib/lockbox", "/run/lockbox"):
            os.makedirs(d, exist_ok=True)
        os.chmod("/etc/lockbox/private", 0o700)

    def generate_signing_key(self):
        tmp = os.path.join(self.dir, "keygen")
        r = subprocess.run(["lockboxctl", "key", "generate", "--out", tmp], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"key generate failed: {r.stderr}")
        shutil.copy(os.path.join(tmp, "signing.secret"), "/etc/lockbox/private/signing.secret")
        os.chmod("/etc/lockbox/private/signing.secret", 0o600)
        # As the operator guide says: the approval service's user owns its key.
        for path in ("/etc/lockbox/private", "/etc/lockbox/private/signing.secret"):
            shutil.chown(path, "lockbox-approval", "lockbox-approval")
        shutil.copy(os.path.join(tmp, "signing.public"), "/etc/lockbox/trusted.d/approval.public")
        os.chmod("/etc/lockbox/trusted.d/approval.public", 0o644)
        self.keys["signing"] = {"kid": r.stdout.strip(), "secret": "/etc/lockbox/private/signing.secret",
                                "public": "/etc/lockbox/trusted.d/approval.public"}
        return r.stdout.strip()

    def write_system_config(self, sections):
        """Writes /etc/lockbox/lockbox.conf (the production path)."""
        return self.write_config_file("/etc/lockbox/lockbox.conf", sections)

    # -- system bus and daemons ----------------------------------------------
    def start_system_bus(self):
        os.makedirs("/run/dbus", exist_ok=True)
        read_fd, write_fd = os.pipe()
        proc = self.spawn(["dbus-daemon", "--system", "--nofork", "--nopidfile",
                           f"--print-address={write_fd}"], pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            import select
            ready, _, _ = select.select([pipe], [], [], 10)
            if not ready:
                raise RuntimeError("dbus-daemon did not start")
            address = pipe.readline().decode().strip()
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
        return proc

    @staticmethod
    def unit_credentials(binary):
        """setpriv argv for the daemon as its installed unit runs it."""
        name = os.path.basename(binary) + ".service"
        unit = next((os.path.join(d, name) for d in ("/usr/lib/systemd/system", "/lib/systemd/system")
                     if os.path.exists(os.path.join(d, name))), None)
        if unit is None:
            raise RuntimeError(f"{name} was not installed")
        return lf.unit_setpriv(unit)

    def start_lockbox_daemon(self, binary, bus_name):
        log_path = os.path.join(self.dir, f"{os.path.basename(binary)}.log")
        logf = open(log_path, "ab")
        proc = self.spawn(self.unit_credentials(binary) + [binary], stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        daemon = lf.Daemon(os.path.basename(binary), proc, log_path)
        lf.wait_until(lambda: proc.poll() is not None or self.name_has_owner(bus_name), 10,
                      interval=0.05, what=f"{bus_name}")
        if proc.poll() is not None:
            raise RuntimeError(f"{binary} exited {proc.returncode}:\n{daemon.log_text()}")
        self.daemons[daemon.name] = daemon
        return daemon

    # -- PAM, NSS and sshd ---------------------------------------------------
    def configure_login_stack(self):
        """Debian's stock sshd stack with only the pam_lockbox lines added."""
        with open("/etc/pam.d/sshd") as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            if line.strip() == "@include common-account":
                out.append("account    required     pam_lockbox.so")
            out.append(line)
            if line.split()[:3] == ["session", "required", "pam_loginuid.so"]:
                out.append("session    required     pam_lockbox.so")
        with open("/etc/pam.d/sshd", "w") as f:
            f.write("\n".join(out) + "\n")
        with open("/etc/nsswitch.conf") as f:
            text = f.read()
        new = []
        for line in text.splitlines():
            key = line.split(":")[0].strip()
            if key in ("passwd", "group") and "lockbox" not in line:
                line = line + " lockbox"
            new.append(line)
        with open("/etc/nsswitch.conf", "w") as f:
            f.write("\n".join(new) + "\n")

    def start_sshd(self, extra=()):
        """Debian's stock sshd_config with the drop-in `meson install` put in
        /etc/ssh/sshd_config.d/lockbox.conf, byte for byte the shipped file; the
        sandbox adds only where sshd listens and its limits (nothing Lockbox's
        file sets: sshd takes the first value it reads)."""
        self.write_sshd_config(extra=extra)
        self.sshd = self.spawn(["/usr/sbin/sshd", "-D"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        lf.wait_until(lambda: self._port_open(SSH_PORT) or self.sshd.poll() is not None, 10,
                      what="sshd listening")
        if self.sshd.poll() is not None:
            raise RuntimeError("sshd exited at start")
        return self.sshd

    def write_sshd_config(self, listen_address="127.0.0.1", extra=()):
        """The sandbox's sshd drop-in beside the installed one (see start_sshd);
        tests/lib/lockbox_fleet_hosts.py starts one sshd per host on it, each
        listening on every address of its own network namespace (0.0.0.0)."""
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # `sshd -t` wants it
        with open(LOCKBOX_SSHD_DROPIN) as installed, open(SHIPPED_SSHD_DROPIN) as shipped:
            if installed.read() != shipped.read():
                raise RuntimeError(f"{LOCKBOX_SSHD_DROPIN} is not the shipped {SHIPPED_SSHD_DROPIN}")
        conf = "/etc/ssh/sshd_config.d/lockbox-e2e.conf"
        os.makedirs(os.path.dirname(conf), exist_ok=True)
        with open(conf, "w") as f:
            f.write("\n".join([
                f"Port {SSH_PORT}",
                f"ListenAddress {listen_address}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "MaxStartups 100:30:200",
                "MaxSessions 50",
                "LogLevel VERBOSE",
                *extra,
            ]) + "\n")
        if not os.path.exists("/etc/ssh/ssh_host_ed25519_key"):
            subprocess.run(["ssh-keygen", "-A"], check=True, capture_output=True)
        r = subprocess.run(["/usr/sbin/sshd", "-t"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"sshd -t: {r.stderr}")

    @staticmethod
    def _port_open(port, address="127.0.0.1"):
        import socket
        s = socket.socket()
        s.settimeout(0.2)
        try:
            s.connect((address, port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def make_ssh_key(self, name):
        path = os.path.join(self.dir, f"{name}_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@provider",
                        "-f", path], check=True)
        return path

    def ssh(self, user, key, command, timeout=30, extra=(), input=None, address="127.0.0.1"):
        argv = ["ssh", "-i", key, "-p", str(SSH_PORT), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", *extra,
                f"{user}@{address}", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)

    def ssh_spawn(self, user, key, command, extra=(), address="127.0.0.1", **kw):
        argv = ["ssh", "-tt", "-i", key, "-p", str(SSH_PORT), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", *extra, f"{user}@{address}", command]
        return self.spawn(argv, **kw)


def getent(database, key):
    r = subprocess.run(["getent", database, key], capture_output=True, text=True, timeout=10)
    return r.stdout.strip() if r.returncode == 0 else None


def processes_of_uid(uid):
    """Live (non-zombie) pids whose real uid is uid, judged from /proc."""
    live = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1 -1").split()[0]) != uid:
            continue
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        live.append(int(entry))
    return live


def wait_for(predicate, timeout, what):
    lf.wait_until(predicate, timeout, interval=0.05, what=what)
    return time.monotonic()

"""Test fixture: a private world for Lockbox's integration and end-to-end tests.

Everything happens inside a fresh mount + network namespace (enter_namespace), so
the host's /etc, /run/dbus and journal are never touched: account files, the
D-Bus socket directory and journald's directories are bind mounts or tmpfs
visible only to this test. Every process the Sandbox starts is tracked by pid and
ended when the `with` block exits, also when the test fails.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD_ROOT = os.environ.get("LOCKBOX_BUILD_ROOT", "")
SOURCE_ROOT = os.environ.get("LOCKBOX_SOURCE_ROOT", "")
SKIP = 77


def log(*args):
    print("[fixture]", *args, file=sys.stderr, flush=True)


def enter_namespace():
    """Re-executes the running script inside `unshare --mount --net --pid` once.

    The PID namespace, with its own /proc, keeps sandboxes apart: lockboxd's
    sweep of the lockbox uid range sees (and ends) this sandbox's processes
    only, never those of another test that runs at the same time with the same
    range, and `--kill-child` ends everything the test started when it exits."""
    if os.environ.get("LOCKBOX_IN_NAMESPACE") == "1":
        return
    if os.geteuid() != 0:
        log("needs root for namespaces; skipping")
        sys.exit(SKIP)
    unshare = shutil.which("unshare")
    if not unshare:
        log("unshare(1) missing; skipping")
        sys.exit(SKIP)
    env = dict(os.environ, LOCKBOX_IN_NAMESPACE="1")
    argv = [unshare, "--mount", "--net", "--fork", "--kill-child",
            "--propagation", "private", "--pid", "--mount-proc", sys.executable] + sys.argv
    rc = subprocess.call(argv, env=env)
    sys.exit(rc)


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate until true; raises TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def unit_setpriv(unit_path):
    """setpriv argv that gives a daemon what its systemd unit gives it: User=/
    Group=, CapabilityBoundingSet=, NoNewPrivileges= (no systemd runs here)."""
    d = {}
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith(("#", "[")):
                key, value = line.split("=", 1)
                d.setdefault(key, []).append(value)
    caps = " ".join(d.get("CapabilityBoundingSet", [])).split()
    argv = ["setpriv", "--bounding-set=-all" + "".join(",+" + c.lower().removeprefix("cap_") for c in caps),
            "--inh-caps=-all"]
    if "User" in d:
        user = d["User"][-1]
        group = d.get("Group", [user])[-1]
        argv += [f"--reuid={user}", f"--regid={group}", "--clear-groups"]
    if d.get("NoNewPrivileges", ["no"])[-1] == "yes":
        argv.append("--no-new-privs")
    return argv + ["--"]


def build_path(relative):
    return os.path.join(BUILD_ROOT, relative)


def source_path(relative):
    return os.path.join(SOURCE_ROOT, relative)


class Daemon:
    def __init__(self, name, proc, log_path):
        self.name = name
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Sandbox:
    def __init__(self, keep=False):
        self.keep = keep
        self.dir = None
        self.procs = []
        self.mounts = []
        self.accounts_ready = False
        self.config_path = None
        self.keys = {}

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self):
        if os.environ.get("LOCKBOX_IN_NAMESPACE") != "1":
            raise RuntimeError("call lockbox_fixture.enter_namespace() first")
        self.dir = tempfile.mkdtemp(prefix="lockbox-test-")
        os.chmod(self.dir, 0o755)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def close(self):
        for proc in reversed(self.procs):
            self._end(proc)
        self.procs.clear()
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-l", target], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.mounts.clear()
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _end(proc, grace=5.0):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} did not die after SIGKILL")
        except ProcessLookupError:
            pass

    # -- processes -----------------------------------------------------------
    def spawn(self, argv, user=None, **popen_kw):
        argv = self._as_user(argv, user)
        proc = subprocess.Popen(argv, **popen_kw)
        self.procs.append(proc)
        return proc

    def _as_user(self, argv, user):
        if user is None or user == "root":
            return list(argv)
        return ["setpriv", f"--reuid={user}", f"--regid={self.gid_of(user)}",
                "--init-groups", "--"] + list(argv)

    def gid_of(self, user):
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if parts[0] == user:
                    return int(parts[3])
        raise KeyError(user)

    def mount_bind(self, source, target):
        subprocess.run(["mount", "--bind", source, target], check=True)
        self.mounts.append(target)

    def mount_tmpfs(self, target, mode="0755"):
        os.makedirs(target, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", target], check=True)
        self.mounts.append(target)

    # -- accounts ------------------------------------------------------------
    def _ensure_accounts(self):
        if self.accounts_ready:
            return
        for name in ("passwd", "group", "shadow", "gshadow"):
            src = f"/etc/{name}"
            if not os.path.exists(src):
                continue
            copy = os.path.join(self.dir, f"etc-{name}")
            shutil.copy2(src, copy)
            self.mount_bind(copy, src)
        self.accounts_ready = True

    @staticmethod
    def _put_entry(path, name, line):
        """Writes line as the only entry for name in an account file: a host
        where the package is installed already has lockbox-approval and the role
        groups, and an entry appended after the host's would be shadowed by it."""
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l and l.split(":", 1)[0] != name]
        with open(path, "w") as f:
            f.write("\n".join(lines + [line]) + "\n")

    def add_group(self, name, gid, members=()):
        self._ensure_accounts()
        self._put_entry("/etc/group", name, f"{name}:x:{gid}:{','.join(members)}")
        if os.path.exists("/etc/gshadow"):
            self._put_entry("/etc/gshadow", name, f"{name}:!::{','.join(members)}")

    def add_user(self, name, uid, groups=(), home="/nonexistent", shell="/bin/sh", gid=None):
        self._ensure_accounts()
        gid = uid if gid is None else gid
        self.add_group(name, gid)
        self._put_entry("/etc/passwd", name, f"{name}:x:{uid}:{gid}:{name}:{home}:{shell}")
        if os.path.exists("/etc/shadow"):
            self._put_entry("/etc/shadow", name, f"{name}:*:19000:0:99999:7:::")
        for group in groups:
            self._add_member(group, name)

    def _add_member(self, group, user):
        for path in ("/etc/group", "/etc/gshadow"):
            if not os.path.exists(path):
                continue
            with open(path) as f:
                lines = f.read().splitlines()
            out = []
            found = False
            for line in lines:
                parts = line.split(":")
                if parts[0] == group:
                    found = True
                    members = [m for m in parts[3].split(",") if m]
                    if user not in members:
                        members.append(user)
                    parts[3] = ",".join(members)
                    line = ":".join(parts)
                out.append(line)
            if not found and path == "/etc/group":
                raise KeyError(f"group {group} does not exist; add_group it first")
            with open(path, "w") as f:
                f.write("\n".join(out) + "\n")

    # -- journald ------------------------------------------------------------
    def start_journald(self):
        """A real systemd-journald of this namespace's own.

        Never the host's, even when one runs there: its directories are
        hidden under tmpfs here, so the test neither reads the host's journal
        (entries of a real Lockbox would mix with the test's) nor writes to it."""
        socket_path = "/run/systemd/journal/socket"
        self.mount_tmpfs("/run/systemd/journal")
        self.mount_tmpfs("/run/log/journal")
        if os.path.isdir("/var/log/journal"):
            self.mount_tmpfs("/var/log/journal")
        conf = os.path.join(self.dir, "journald.conf")
        with open(conf, "w") as f:
            # Volatile: nothing reaches the host's disk. No rate limit: audit
            # entries must never be dropped (docs/design.md §7).
            f.write("[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\n"
                    "ForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n")
        os.makedirs("/etc/systemd", exist_ok=True)
        if os.path.exists("/etc/systemd/journald.conf"):
            self.mount_bind(conf, "/etc/systemd/journald.conf")
        binary = "/lib/systemd/systemd-journald"
        proc = self.spawn([binary], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(socket_path) or proc.poll() is not None, 10,
                   what="journald socket")
        if proc.poll() is not None:
            raise RuntimeError("systemd-journald exited at start")
        # /dev/log reaches journald, so pam_syslog and syslog(3) lines are kept.
        devlog = "/run/systemd/journal/dev-log"
        wait_until(lambda: os.path.exists(devlog), 10, what="journald dev-log")
        if os.path.exists("/dev/log") or os.path.islink("/dev/log"):
            try:
                self.mount_bind(devlog, "/dev/log")
            except subprocess.CalledProcessError:
                pass
        return proc

    @staticmethod
    def _journald_alive():
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.connect("/run/systemd/journal/socket")
            return True
        except OSError:
            return False
        finally:
            s.close()

    def journal(self, match=None, identifiers=None, timeout=10, expect=None):
        """Journal entries as dicts (journalctl -o json), oldest first.

        With expect=N, waits (bounded) until at least N entries match."""
        argv = ["journalctl", "--no-pager", "-o", "json", "--all"]
        for ident in identifiers or ():
            argv += ["-t", ident]
        for key, value in (match or {}).items():
            argv.append(f"{key}={value}")
        entries = []

        def fetch():
            nonlocal entries
            subprocess.run(["journalctl", "--sync"], check=False, timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
            entries = [json.loads(line) for line in out.splitlines() if line.strip()]
            return expect is None or len(entries) >= expect

        if expect is None:
            fetch()
        else:
            wait_until(fetch, timeout, interval=0.1, what=f"{expect} journal entries")
        return entries

    # -- D-Bus ---------------------------------------------------------------
    def start_dbus(self):
        """A private system bus with Debian's system.conf and the project's policy."""
        self.mount_tmpfs("/run/dbus")
        conf = os.path.join(self.dir, "system-bus.conf")
        includes = []
        for name in ("org.lockbox.Approval1.conf", "org.lockbox.Enforcer1.conf"):
            path = source_path(os.path.join("systemd", name))
            if os.path.exists(path):
                includes.append(f"  <include>{path}</include>")
            else:
                log(f"policy file {path} missing")
        with open(conf, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    "<busconfig>\n"
                    "  <include>/usr/share/dbus-1/system.conf</include>\n"
                    + "\n".join(includes) + "\n</busconfig>\n")
        read_fd, write_fd = os.pipe()
        proc = self.spawn(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile",
                           f"--print-address={write_fd}"], pass_fds=(write_fd,))
        os.close(write_fd)
        address = b""
        deadline = time.monotonic() + 10
        import select
        while not address.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or proc.poll() is not None:
                os.close(read_fd)
                raise RuntimeError("dbus-daemon did not print its address")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 4096)
                if not chunk:
                    break
                address += chunk
        os.close(read_fd)
        address = address.decode().strip()
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self.bus_address = address
        return proc

    def name_has_owner(self, name):
        r = subprocess.run(["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
                            "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                            f"string:{name}"], capture_output=True, text=True, timeout=10)
        return "boolean true" in r.stdout

    def busctl_call(self, *args, user=None, timeout=30):
        argv = self._as_user(["busctl", "--system", "--json=short", "call"] + list(args), user)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    # -- keys and config -----------------------------------------------------
    def make_keys(self, name="signing"):
        out_dir = os.path.join(self.dir, name)
        r = subprocess.run([build_path("lockboxctl/lockboxctl"), "key", "generate", "--out", out_dir],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"key generate failed: {r.stderr}")
        trusted = os.path.join(self.dir, "trusted.d")
        os.makedirs(trusted, exist_ok=True)
        public = os.path.join(out_dir, "signing.public")
        shutil.copy(public, os.path.join(trusted, f"{name}.public"))
        os.chmod(os.path.join(trusted, f"{name}.public"), 0o644)
        info = {"dir": out_dir, "secret": os.path.join(out_dir, "signing.secret"),
                "public": public, "kid": r.stdout.strip(), "trusted_dir": trusted}
        self.keys[name] = info
        return info

    def write_config(self, sections=None, name="lockbox.conf"):
        keys = self.keys.get("signing", {})
        merged = {
            "Host": {"Tenant": "contoso", "Name": "db01"},
            "Keys": {"TrustedDir": os.path.join(self.dir, "trusted.d"),
                     "SigningKey": keys.get("secret", os.path.join(self.dir, "signing", "signing.secret")),
                     "KeyOwner": "0"},
            "Accounts": {"Record": "no", "HomeBase": os.path.join(self.dir, "home")},
            "Notify": {"Command": "/bin/true"},
            "Paths": {"StateDir": os.path.join(self.dir, "state"),
                      "RuntimeDir": os.path.join(self.dir, "run")},
        }
        for section, values in (sections or {}).items():
            merged.setdefault(section, {}).update(values)
        for d in (merged["Paths"]["StateDir"], merged["Paths"]["RuntimeDir"]):
            os.makedirs(d, exist_ok=True)
        return self.write_config_file(os.path.join(self.dir, name), merged)

    def write_config_file(self, path, sections):
        """Writes sections ({"Host": {"Tenant": ...}}) as a lockbox.conf at path."""
        with open(path, "w") as f:
            for section, values in sections.items():
                f.write(f"[{section}]\n")
                for key, value in values.items():
                    f.write(f"{key}={value}\n")
                f.write("\n")
        os.chmod(path, 0o644)
        self.config_path = path
        return path

    # -- daemons and the CLI -------------------------------------------------
    def start_daemon(self, binary, bus_name=None, args=(), timeout=10, env=None, wrapper=()):
        """wrapper: argv run in front of the daemon, e.g. setpriv limiting its capabilities."""
        name = os.path.basename(binary)
        log_path = os.path.join(self.dir, f"{name}.log")
        logf = open(log_path, "ab")
        argv = list(wrapper) + [build_path(binary), "--config", self.config_path] + list(args)
        proc = self.spawn(argv, stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()
        daemon = Daemon(name, proc, log_path)
        if bus_name:
            try:
                wait_until(lambda: proc.poll() is not None or self.name_has_owner(bus_name),
                           timeout, interval=0.05, what=f"{bus_name} on the bus")
            except TimeoutError:
                raise RuntimeError(f"{name} did not take {bus_name}:\n{daemon.log_text()}")
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{daemon.log_text()}")
        return daemon

    def stop_daemon(self, daemon, timeout=10):
        proc = daemon.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                raise RuntimeError(f"{daemon.name} ignored SIGTERM for {timeout}s")
        return proc.returncode

    def kill_daemon(self, daemon):
        proc = daemon.proc
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def ctl(self, args, user=None, check=False, input=None, timeout=30):
        argv = [build_path("lockboxctl/lockboxctl"), "--config", self.config_path] + list(args)
        argv = self._as_user(argv, user)
        # The build tree's lockboxctl-fleet, not an installed one (lockboxctl/main.cc).
        env = dict(os.environ, LOCKBOX_LIBEXEC_DIR=build_path("lockboxctl"))
        r = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"lockboxctl {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

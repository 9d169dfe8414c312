#!/usr/bin/env python3
"""The shipped D-Bus policy (systemd/org.lockbox.*.conf) enforces docs/design.md §6.

Runs a private dbus-daemon whose configuration mirrors Debian's system.conf
defaults and includes the project's two policy files, then drives
policy_probe as root, as the lockbox-approval service user and as an ordinary
unprivileged uid. Runs inside its own mount namespace so that the bus can
resolve the `lockbox-approval` user from a bind-mounted copy of /etc/passwd;
the host's files are never touched.

usage: test_bus_policy.py POLICY_PROBE POLICY_FILE...
"""
import os
import select
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
APPROVAL_UID = 2100099901   # lockbox-approval inside the namespace
USER_UID = 2100099902       # an ordinary local user
DEADLINE = 20               # seconds for any single step

APPROVAL = ("org.lockbox.Approval1", "/org/lockbox/Approval1")
ENFORCER = ("org.lockbox.Enforcer1", "/org/lockbox/Enforcer1")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- Debian's system.conf defaults: the holes come from the included files. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
{includes}
</busconfig>
"""

failures = []
passes = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def enter_namespace():
    """Re-run this script inside a private mount namespace."""
    if os.environ.get("LOCKBOX_POLICY_TEST_NS") == "1":
        return
    if os.geteuid() != 0:
        print("skip: needs root (bind mounts, uid switching)")
        sys.exit(SKIP)
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("dbus-daemon") is None or shutil.which("setpriv") is None:
        print("skip: needs unshare, dbus-daemon and setpriv")
        sys.exit(SKIP)
    env = dict(os.environ, LOCKBOX_POLICY_TEST_NS="1")
    rc = subprocess.run([unshare, "--mount", "--propagation", "private", sys.executable] + sys.argv,
                        env=env, timeout=300).returncode
    sys.exit(rc)


def bind_account_files(tmp):
    """Make the test accounts resolvable for dbus-daemon, in this namespace only."""
    # dbus-daemon drops connections from uids it cannot resolve, so the
    # ordinary caller needs an entry too. Where the package is installed the
    # host has its own lockbox-approval: its entry is replaced, not shadowed by
    # one appended after it (the policy names the user, the bus resolves the name).
    users = (("lockbox-approval", APPROVAL_UID), ("lockbox-policy-user", USER_UID))
    names = {n for n, _ in users}
    for name, line in (("passwd", "".join(f"{n}:x:{u}:{u}::/nonexistent:/usr/sbin/nologin\n" for n, u in users)),
                       ("group", "".join(f"{n}:x:{u}:\n" for n, u in users))):
        copy = os.path.join(tmp, name)
        with open(f"/etc/{name}") as f:
            kept = [l for l in f.read().splitlines(keepends=True)
                    if l.strip() and l.split(":", 1)[0] not in names]
        with open(copy, "w") as f:
            f.write("".join(l if l.endswith("\n") else l + "\n" for l in kept) + line)
        os.chmod(copy, 0o644)
        subprocess.run(["mount", "--bind", copy, f"/etc/{name}"], check=True, timeout=DEADLINE)


class LineReader:
    """Bounded line reads from a child's stdout (no hidden buffering, so
    select() tells the truth)."""

    def __init__(self, proc):
        self.fd = proc.stdout.fileno()
        self.buf = b""

    def read_line(self, what):
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], DEADLINE)
            if not ready:
                raise RuntimeError(f"timed out waiting for {what}")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise RuntimeError(f"{what}: stream closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().strip()


class Probe:
    def __init__(self, probe, address):
        self.probe = probe
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)

    def run(self, uid, *args):
        cmd = [self.probe, *args]
        if uid != 0:
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + cmd
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=DEADLINE)
        if r.returncode == 2:
            raise RuntimeError(f"probe failed: {' '.join(args)}: {r.stdout.strip()} {r.stderr.strip()}")
        return r.returncode, r.stdout.strip()


def main():
    enter_namespace()
    probe_path, policy_files = sys.argv[1], sys.argv[2:]
    procs = []
    tmp = tempfile.mkdtemp(prefix="lockbox-policy-")
    try:
        os.chmod(tmp, 0o755)  # the unprivileged callers must reach the socket
        bind_account_files(tmp)
        probe_copy = os.path.join(tmp, "policy_probe")
        shutil.copy(probe_path, probe_copy)   # the build tree may not be traversable by others
        os.chmod(probe_copy, 0o755)
        config = os.path.join(tmp, "bus.conf")
        includes = "\n".join(f"  <include>{os.path.abspath(p)}</include>" for p in policy_files)
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(socket=os.path.join(tmp, "bus"), includes=includes))

        rfd, wfd = os.pipe()
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile",
                                f"--print-address={wfd}"], pass_fds=(wfd,))
        procs.append(bus)
        os.close(wfd)
        ready, _, _ = select.select([rfd], [], [], DEADLINE)
        if not ready:
            raise RuntimeError("dbus-daemon did not print its address")
        address = os.read(rfd, 4096).decode().strip()
        os.close(rfd)
        if not address:
            raise RuntimeError("dbus-daemon exited before printing its address")
        p = Probe(probe_copy, address)

        # Name ownership: before anyone holds the names, so a refusal can only
        # come from the policy.
        for name in (APPROVAL[0], ENFORCER[0]):
            rc, out = p.run(USER_UID, "own", name)
            check(rc == 1, f"ordinary user cannot own {name} ({out})")
        rc, out = p.run(APPROVAL_UID, "own", ENFORCER[0])
        check(rc == 1, f"lockbox-approval cannot own {ENFORCER[0]} ({out})")
        rc, out = p.run(APPROVAL_UID, "own", APPROVAL[0])
        check(rc == 0, f"lockbox-approval owns {APPROVAL[0]} ({out})")

        # One process per name, as in production: the bus matches
        # send_destination against every name the receiving connection owns.
        servers = []
        for name in (APPROVAL[0], ENFORCER[0]):
            server = subprocess.Popen([probe_copy, "serve", name], env=p.env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            procs.append(server)
            servers.append(LineReader(server))
            check(servers[-1].read_line(f"probe server for {name}") == "ready", f"root owns {name}")
        listener = servers[0]

        def call(uid, service, iface, member):
            return p.run(uid, "call", service[0], service[1], iface, member)

        for member in ("CreateRequest", "ApproveRequest", "ListRequests", "ListRequestsPage", "GetHostGrants"):
            rc, out = call(USER_UID, APPROVAL, APPROVAL[0], member)
            check(rc == 0, f"ordinary user reaches Approval1.{member} ({out})")
        for iface, member in (("org.freedesktop.DBus.Introspectable", "Introspect"),
                              ("org.freedesktop.DBus.Properties", "GetAll"),
                              ("org.freedesktop.DBus.Peer", "Ping")):
            rc, out = call(USER_UID, APPROVAL, iface, member)
            check(rc == 0, f"ordinary user reaches {iface}.{member} on Approval1 ({out})")

        denied = "org.freedesktop.DBus.Error.AccessDenied"
        for uid, who in ((USER_UID, "ordinary user"), (APPROVAL_UID, "lockbox-approval")):
            for member in ("CheckAccess", "OpenSession", "CloseSession", "ImportGrant", "RevokeGrant",
                           "ListGrants", "ListGrantsPage", "ListSessions", "KillSession"):
                rc, out = call(uid, ENFORCER, ENFORCER[0], member)
                check(rc == 1 and out == denied, f"{who} refused by the bus for Enforcer1.{member} ({out})")
        for member in ("Status", "AuthorizedKeys"):
            rc, out = call(USER_UID, ENFORCER, ENFORCER[0], member)
            check(rc == 0, f"ordinary user reaches Enforcer1.{member} ({out})")
        rc, out = call(USER_UID, ENFORCER, "-", "CheckAccess")
        check(rc == 1 and out == denied, f"ordinary user refused for interface-less CheckAccess ({out})")
        rc, out = call(USER_UID, ENFORCER, "org.freedesktop.DBus.Properties", "GetAll")
        check(rc == 1 and out == denied, f"ordinary user refused for Properties on Enforcer1 ({out})")
        for member in ("CheckAccess", "ImportGrant", "KillSession", "ListGrantsPage"):
            rc, out = call(0, ENFORCER, ENFORCER[0], member)
            check(rc == 0, f"root reaches Enforcer1.{member} ({out})")
        rc, out = call(0, APPROVAL, APPROVAL[0], "GetHostGrants")
        check(rc == 0, f"root reaches Approval1.GetHostGrants ({out})")

        # Signals: after each attempt root sends a marker on the same
        # interface; the listener must see the marker without the attempt
        # before it (the bus routes each sender's messages in order, and the
        # probe waits for a round trip after emitting).
        marker = 0

        def signal_delivered(uid, service, member):
            nonlocal marker
            marker += 1
            token = f"attempt-{marker}"
            p.run(uid, "emit", service[1], service[0], member, token)
            p.run(0, "emit", service[1], service[0], "Marker", f"marker-{marker}")
            seen = False
            while True:
                line = listener.read_line(f"marker {marker}")
                if line.endswith(f" {token}"):
                    seen = True
                if line.endswith(f" marker-{marker}"):
                    return seen

        check(not signal_delivered(USER_UID, APPROVAL, "GrantRevoked"),
              "ordinary user cannot send Approval1 signals")
        check(not signal_delivered(USER_UID, ENFORCER, "GrantChanged"),
              "ordinary user cannot send Enforcer1 signals")
        check(not signal_delivered(APPROVAL_UID, ENFORCER, "SessionKilled"),
              "lockbox-approval cannot send Enforcer1 signals")
        check(signal_delivered(APPROVAL_UID, APPROVAL, "GrantIssued"),
              "lockbox-approval sends Approval1 signals")
        check(signal_delivered(0, ENFORCER, "GrantChanged"), "root sends Enforcer1 signals")
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=DEADLINE)
        subprocess.run(["umount", "/etc/passwd"], timeout=DEADLINE)
        subprocess.run(["umount", "/etc/group"], timeout=DEADLINE)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"bus policy: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

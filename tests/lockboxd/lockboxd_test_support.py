"""Helpers for lockboxd's integration tests, on top of tests/lib/lockbox_fixture.

Engineer processes run under uids lockboxd allocates from the lockbox range
(read back from `grant list --json`), never under a uid anything else uses.
Every process tree a test starts is swept by uid when the test ends.
"""
import json
import os
import signal
import subprocess
import time

import lockbox_fixture as lf

UID_MIN = 2100000000
UID_MAX = 2100099999
ENFORCER = ("org.lockbox.Enforcer1", "/org/lockbox/Enforcer1", "org.lockbox.Enforcer1")


def make_grant(sb, sub, nbf=-1.0, exp=60.0, jti=None, hosts=("db01",), tenant="contoso", key="signing"):
    argv = [lf.build_path("tests/lockboxd/make_grant"), "--key", sb.keys[key]["secret"], "--sub", sub,
            "--tenant", tenant, "--nbf", str(nbf), "--exp", str(exp)]
    for h in hosts:
        argv += ["--host", h]
    if jti:
        argv += ["--jti", jti]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"make_grant failed: {r.stderr}")
    return r.stdout.strip()


def start_lockboxd(sb, unit_capabilities=True):
    """unit_capabilities: run lockboxd with what its systemd unit grants
    (CapabilityBoundingSet=, NoNewPrivileges= of systemd/lockboxd.service.in), as on a host."""
    wrapper = unit_capability_wrapper() if unit_capabilities else ()
    return sb.start_daemon("lockboxd/lockboxd", bus_name="org.lockbox.Enforcer1", wrapper=wrapper)


def unit_capability_wrapper():
    return lf.unit_setpriv(lf.source_path("systemd/lockboxd.service.in"))


def import_grant(sb, token, check=True):
    r = sb.ctl(["grant", "import", "-"], input=token + "\n")
    if check and r.returncode != 0:
        raise AssertionError(f"grant import failed ({r.returncode}): {r.stderr}")
    return r


def grants(sb):
    r = sb.ctl(["grant", "list", "--json", "--source", "enforcer"], check=True)
    return {g["id"]: g for g in json.loads(r.stdout)}


def uid_of(sb, jti):
    return int(grants(sb)[jti]["uid"])


def call(sb, method, signature="", *args, user=None):
    return sb.busctl_call(*ENFORCER, method, *([signature] + [str(a) for a in args] if signature else []),
                          user=user)


def check_access(sb, user):
    r = call(sb, "CheckAccess", "ssss", user, "sshd", "127.0.0.1", "ssh")
    if r.returncode != 0:
        raise AssertionError(f"CheckAccess failed: {r.stderr}")
    data = json.loads(r.stdout)["data"]
    return data[0], data[1]


def open_session(sb, user, pid, tty=""):
    r = call(sb, "OpenSession", "susss", user, pid, tty, "127.0.0.1", "")
    if r.returncode != 0:
        raise AssertionError(f"OpenSession failed: {r.stderr}")
    return json.loads(r.stdout)["data"][0]


def live_pids(uid):
    """Processes whose real, effective or saved uid is uid; zombies are gone."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                text = f.read()
        except OSError:
            continue
        state = uids = None
        for line in text.splitlines():
            if line.startswith("State:"):
                state = line.split()[1]
            elif line.startswith("Uid:"):
                uids = [int(x) for x in line.split()[1:4]]
        if state in ("Z", "X") or uids is None:
            continue
        if uid in uids:
            out.append(int(name))
    return out


# A session-like tree: a leader, a setsid-escaped grandchild, and a child that
# ignores SIGTERM and keeps forking. Everything ends by itself after 120 s.
TREE_SCRIPT = r"""
setsid sh -c 'sleep 120 & wait' &
sh -c 'trap "" TERM; i=0; while [ $i -lt 2000 ]; do sleep 120 & i=$((i+1)); sleep 0.05; done; wait' &
sleep 120 &
wait
"""


def spawn_tree(sb, uid):
    assert UID_MIN <= uid <= UID_MAX, "engineer processes only under lockbox-range uids"
    proc = sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                     "/bin/sh", "-c", TREE_SCRIPT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lf.wait_until(lambda: len(live_pids(uid)) >= 5, 20, what=f"process tree of uid {uid}")
    return proc


def sweep_uid(uid):
    """Cleanup: SIGKILL every process of uid in one kernel operation."""
    if not UID_MIN <= uid <= UID_MAX:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def reap_children():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_gone(uid, timeout=15):
    def gone():
        reap_children()
        return not live_pids(uid)
    lf.wait_until(gone, timeout, interval=0.01, what=f"every process of uid {uid} to be gone")


def setup_world(sb, policy=None):
    sb.start_journald()
    sb.start_dbus()
    sb.make_keys()
    sections = {"Policy": {"MaxGrant": "1h", "KillGrace": "1s", "WarnBefore": "10m 1m"}}
    if policy:
        sections["Policy"].update(policy)
    sb.write_config(sections)


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def run(test_main, prepare=None):
    """prepare(), if given, runs inside the namespace before the Sandbox exists
    (mounts that must be in place before the Sandbox makes its directory)."""
    lf.enter_namespace()
    import sys
    uids = []
    try:
        if prepare:
            prepare()
        with lf.Sandbox() as sb:
            try:
                test_main(sb, uids)
            except Exception:
                for d in ("lockboxd.log",):
                    p = os.path.join(sb.dir, d)
                    if os.path.exists(p):
                        sys.stderr.write(f"--- {d}\n" + open(p, errors="replace").read()[-4000:])
                raise
            finally:
                for uid in uids:
                    sweep_uid(uid)
                reap_children()
    except Exception:
        import traceback
        traceback.print_exc()
        sys.exit(1)
    print("ok")
    sys.exit(0)


# -- helpers for the terminal, logind and leftover tests ---------------------

def spawn_as(sb, uid, argv, **popen_kw):
    """argv as the lockbox-range uid (its own gid, no supplementary groups)."""
    assert UID_MIN <= uid <= UID_MAX, "engineer processes only under lockbox-range uids"
    return sb.spawn(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + list(argv),
                    **popen_kw)


def run_as(uid, argv, timeout=30):
    """argv as the lockbox-range uid, to completion; raises on failure."""
    assert UID_MIN <= uid <= UID_MAX, "engineer processes only under lockbox-range uids"
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + list(argv),
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{argv} as uid {uid} exited {r.returncode}: {r.stderr}")
    return r.stdout


def private_devpts(sb):
    """A new devpts instance on /dev/pts (and its ptmx on /dev/ptmx), in this
    mount namespace only: the test's pseudo-terminals never exist on the host's
    devpts, and the host's terminals are not reachable by /dev/pts/N here."""
    subprocess.run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620", "devpts",
                    "/dev/pts"], check=True)
    sb.mounts.append("/dev/pts")
    sb.mount_bind("/dev/pts/ptmx", "/dev/ptmx")


CLONE_NEWIPC = 0x08000000


def enter_private_ipc():
    """Moves this process, and everything it starts from now on, into a new
    SysV IPC namespace: the test's shm/sem/msg objects, and lockboxd's view of
    /proc/sysvipc, are invisible to the host and its objects to the test."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWIPC): {os.strerror(err)}")


def sysv_ipc_objects(kind):
    """Rows of /proc/sysvipc/<kind> (shm, sem, msg) as dicts keyed by the header
    names (key, shmid/semid/msqid, perms, uid, cuid, ...); perms is octal there
    and keeps SHM_DEST (0o1000) for a segment removed while still attached.
    The IPC namespace is the caller's."""
    with open(f"/proc/sysvipc/{kind}") as f:
        lines = f.read().splitlines()
    header = lines[0].split()
    return [{name: int(x, 8) if name == "perms" else int(x) for name, x in zip(header, line.split())}
            for line in lines[1:] if line.strip()]

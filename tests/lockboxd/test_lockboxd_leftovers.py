#!/usr/bin/env python3
"""What an engineer leaves behind is removed when the grant ends
(lockboxd/home_provisioner.cc remove_leftovers, run after the kill):
files it owns in /tmp, /var/tmp and /dev/shm (also inside other people's
directories, and whole directory trees it owns), its crontab and at jobs,
and its SysV shared memory segments, semaphore sets and message queues.
The same things of another engineer whose grant still runs, and root's, stay;
a symlink the engineer planted is removed without touching its target.

Runs in a private SysV IPC namespace (unshare(CLONE_NEWIPC) before anything
starts) with private tmpfs over /tmp, /var/tmp, /dev/shm and /var/spool, so
neither the host's IPC objects nor its files are ever seen or touched.
"""
import ctypes
import os
import select
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402

CRONTABS = "/var/spool/cron/crontabs"
ATJOBS = "/var/spool/cron/atjobs"

# Creates one object of each SysV kind, keeps the segment attached and a
# message queued, prints "shmid semid msqid" and waits to be killed.
IPC_HOLDER = r"""
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
IPC_CREAT = 0o1000
def check(v, what):
    if v == -1 or v is None:
        sys.exit(f"{what}: errno {ctypes.get_errno()}")
    return v
shm = check(libc.shmget(0, 65536, IPC_CREAT | 0o600), "shmget")
check(libc.shmat(shm, None, 0), "shmat")
sem = check(libc.semget(0, 3, IPC_CREAT | 0o600), "semget")
msq = check(libc.msgget(0, IPC_CREAT | 0o600), "msgget")
class Msg(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 32)]
check(libc.msgsnd(msq, ctypes.byref(Msg(1, b"left behind")), 32, 0), "msgsnd")
print(shm, sem, msq, flush=True)
time.sleep(120)
"""


def prepare():
    t.enter_private_ipc()
    # The tree under test may live below one of these (a checkout in /tmp):
    # it is bound back at its place over the fresh tmpfs, through a descriptor
    # opened before the tmpfs hid it, so nothing is created on the host.
    tree = [os.path.realpath(p) for p in (lf.SOURCE_ROOT, lf.BUILD_ROOT) if p]
    for target, mode in (("/tmp", "1777"), ("/var/tmp", "1777"), ("/dev/shm", "1777"), ("/var/spool", "0755")):
        inside = [p for p in tree if p.startswith(target + "/")]
        outermost = sorted({p for p in inside if not any(q != p and p.startswith(q + "/") for q in inside)})
        held = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in outermost]
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", target], check=True)
        for path, fd in held:
            os.makedirs(path)
            subprocess.run(["mount", "--no-canonicalize", "--bind", f"/proc/{os.getpid()}/fd/{fd}", path],
                           check=True)
            os.close(fd)


def start_ipc_holder(sb, uid):
    """(shmid, semid, msqid) of objects uid created and still holds."""
    # The system python: the test's own interpreter may live where uid cannot read.
    proc = t.spawn_as(sb, uid, ["/usr/bin/python3", "-I", "-c", IPC_HOLDER], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline().decode() if ready else ""
    if len(line.split()) != 3:
        proc.kill()
        raise AssertionError(f"IPC holder of uid {uid} failed: {line!r} {proc.stderr.read().decode()!r}")
    return tuple(int(x) for x in line.split())


SHM_DEST = 0o1000


def ipc_present(ids):
    """Which of the objects exist; a segment removed while attached lingers
    with SHM_DEST until its last detach and does not count as present."""
    shm, sem, msq = ids
    return {"shm": any(r["shmid"] == shm and not r["perms"] & SHM_DEST for r in t.sysv_ipc_objects("shm")),
            "sem": any(r["semid"] == sem for r in t.sysv_ipc_objects("sem")),
            "msg": any(r["msqid"] == msq for r in t.sysv_ipc_objects("msg"))}


def make_files(uid, name):
    """Files uid makes itself, plus the spool entries cron(8)/at(1) would make
    for it; returns every path that belongs to it."""
    t.run_as(uid, ["/bin/sh", "-c", f"""
        set -e
        echo x > /tmp/{name}-file
        echo x > /var/tmp/{name}-file
        echo x > /dev/shm/{name}-file
        mkdir -p /tmp/{name}-dir/sub
        echo x > /tmp/{name}-dir/sub/deep
        chmod 0500 /tmp/{name}-dir/sub
        echo x > /tmp/shared/{name}-file
        ln -s /tmp/root-file /tmp/{name}-link
    """])
    crontab = f"{CRONTABS}/{name}"
    with open(crontab, "w") as f:
        f.write("* * * * * true\n")
    os.chown(crontab, uid, uid)
    os.chmod(crontab, 0o600)
    atjob = f"{ATJOBS}/a0000{uid % 1000:03d}1c2d3e"
    with open(atjob, "w") as f:
        f.write("#!/bin/sh\ntrue\n")
    os.chown(atjob, uid, uid)
    return [f"/tmp/{name}-file", f"/var/tmp/{name}-file", f"/dev/shm/{name}-file", f"/tmp/{name}-dir",
            f"/tmp/shared/{name}-file", f"/tmp/{name}-link", crontab, atjob]


def exists(path):
    return os.path.lexists(path)


def main(sb, uids):
    t.expect(t.sysv_ipc_objects("shm") == [] and t.sysv_ipc_objects("sem") == [] and t.sysv_ipc_objects("msg") == [],
             "the private IPC namespace is not empty")
    os.makedirs(CRONTABS, mode=0o1730)
    os.makedirs(ATJOBS, mode=0o1770)
    os.makedirs("/tmp/shared", mode=0o1777)
    os.chmod("/tmp/shared", 0o1777)
    with open("/tmp/root-file", "w") as f:
        f.write("root's\n")
    libc = ctypes.CDLL(None, use_errno=True)
    root_shm = libc.shmget(0, 4096, 0o1000 | 0o600)
    t.expect(root_shm >= 0, "root's shmget failed")

    t.setup_world(sb)
    # With exactly the unit's capabilities: no CAP_SYS_ADMIN, so another uid's
    # IPC objects can only go through a child that becomes that uid.
    t.start_lockboxd(sb, unit_capabilities=True)

    # The engineer whose grant keeps running, then the one whose grant ends.
    jti2 = t.import_grant(sb, t.make_grant(sb, "eng2", nbf=-1, exp=300)).stdout.strip()
    uid2 = t.uid_of(sb, jti2)
    uids.append(uid2)
    token1 = t.make_grant(sb, "eng1", nbf=-1, exp=10)
    jti1 = t.import_grant(sb, token1).stdout.strip()
    uid1 = t.uid_of(sb, jti1)
    uids.append(uid1)
    for uid in (uid1, uid2):
        t.expect(t.UID_MIN <= uid <= t.UID_MAX, f"uid {uid} outside the lockbox range")
    exp1 = next(g for g in t.grants(sb).values() if g["id"] == jti1)

    ipc1 = start_ipc_holder(sb, uid1)
    ipc2 = start_ipc_holder(sb, uid2)
    files1 = make_files(uid1, "eng1")
    files2 = make_files(uid2, "eng2")
    t.spawn_tree(sb, uid1)
    t.expect(t.check_access(sb, "eng1")[0], f"setup too slow: eng1's grant ended before its leftovers existed "
             f"({exp1})")
    t.expect(all(ipc_present(ipc1).values()) and all(ipc_present(ipc2).values()),
             f"IPC objects missing before the end: {ipc_present(ipc1)} {ipc_present(ipc2)}")
    t.expect(all(exists(p) for p in files1 + files2), "files missing before the end")
    rows = {r["shmid"]: r for r in t.sysv_ipc_objects("shm")}
    t.expect(rows[ipc1[0]]["uid"] == uid1 and rows[ipc1[0]]["nattch"] == 1, f"eng1's segment: {rows[ipc1[0]]}")

    t.wait_gone(uid1, timeout=25)

    def eng1_clean():
        return not any(ipc_present(ipc1).values()) and not any(exists(p) for p in files1)
    try:
        lf.wait_until(eng1_clean, 10, interval=0.05, what="eng1's leftovers to be removed")
    except TimeoutError:
        raise AssertionError(f"eng1's leftovers after the end: IPC {ipc_present(ipc1)}, "
                             f"files {[p for p in files1 if exists(p)]}")
    for kind in ("shm", "sem", "msg"):
        owned = [r for r in t.sysv_ipc_objects(kind) if uid1 in (r["uid"], r["cuid"])]
        t.expect(not owned, f"{kind} objects of uid {uid1} remain: {owned}")

    # eng2's grant runs on: everything of it stays, and so does root's.
    t.expect(all(ipc_present(ipc2).values()), f"eng2's IPC objects were removed: {ipc_present(ipc2)}")
    t.expect(all(exists(p) for p in files2), f"eng2's files were removed: {[p for p in files2 if not exists(p)]}")
    t.expect(os.path.exists("/tmp/eng2-dir/sub/deep"), "eng2's tree was emptied")
    t.expect(any(r["shmid"] == root_shm and not r["perms"] & SHM_DEST for r in t.sysv_ipc_objects("shm")),
             "root's segment was removed")
    with open("/tmp/root-file") as f:
        t.expect(f.read() == "root's\n", "the target of eng1's symlink was touched")
    t.expect(os.path.isdir("/tmp/shared") and os.path.isdir(CRONTABS) and os.path.isdir(ATJOBS),
             "a shared directory was removed")
    allowed, reason = t.check_access(sb, "eng2")
    t.expect(allowed, f"eng2 lost access: {reason}")
    libc.shmctl(root_shm, 0, None)  # IPC_RMID; the namespace goes with the test anyway


if __name__ == "__main__":
    t.run(main, prepare=prepare)

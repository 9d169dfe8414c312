#!/usr/bin/env python3
"""Terminal warnings before the end of a grant ([Policy] WarnBefore=,
lockboxd/terminal_warner.cc, Enforcer::warn_sessions).

Sessions are opened with OpenSession on real pseudo-terminals of a private
devpts instance (the host's /dev/pts is never used). The warning text must
arrive on the engineer's terminal, read from the master side, at each
configured lead time before exp (bounded wait, checked against exp), for both
tty forms PAM hands over ("/dev/pts/N" and "pts/N"). Terminal names that are
not the engineer's terminal must get nothing, and must not even be opened
(inotify sees every real open; lockboxd must only resolve them):
  - a regular file in /dev/shm owned by the engineer (not a terminal),
  - a pseudo-terminal owned by root (not the engineer's),
  - a symlink to a terminal the engineer owns,
  - a path through a symlinked directory to a terminal the engineer owns.
"""
import ctypes
import json
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402

LEADS = (12, 6)       # WarnBefore, seconds: first warning 8 s after the token is made
GRANT_SECONDS = 20
LATE_OK = 1.5         # how late after exp - lead a warning may arrive
IN_OPEN = 0x20


class Inotify:
    """Reports real opens (IN_OPEN) of watched paths; O_PATH lookups do not count."""

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.names = {}

    def watch(self, path):
        wd = self.libc.inotify_add_watch(self.fd, path.encode(), IN_OPEN)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        self.names[wd] = path

    def opened(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            i = 0
            while i < len(buf):
                wd, mask, _cookie, length = struct.unpack_from("iIII", buf, i)
                if mask & IN_OPEN:
                    out.append(self.names.get(wd, f"wd {wd}"))
                i += 16 + length

    def close(self):
        os.close(self.fd)


class Pty:
    def __init__(self, label, owner_uid=None):
        self.label = label
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        if owner_uid is not None:
            os.chown(self.path, owner_uid, -1)
        os.set_blocking(self.master, False)
        self.received = b""

    def drain(self):
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                return self.received
            if not chunk:
                return self.received
            self.received += chunk

    def wait_for(self, needle, deadline):
        """Time (time.time()) at which needle first showed on the master."""
        while needle not in self.received:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise TimeoutError(f"{needle!r} not on {self.path} in time; got {self.received!r}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                self.drain()
        return time.time()

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def expected_text(jti, lead):
    # Words only: the line discipline (ONLCR) turns the text's "\r\n" into "\r\r\n".
    return f"your access (grant {jti}) ends in {lead} seconds".encode()


def main(sb, uids):
    t.private_devpts(sb)
    t.setup_world(sb, policy={"WarnBefore": " ".join(f"{lead}s" for lead in LEADS)})
    sb.mount_tmpfs("/dev/shm", mode="1777")
    t.start_lockboxd(sb)

    token = t.make_grant(sb, "eng", nbf=-1, exp=GRANT_SECONDS)
    jti = t.import_grant(sb, token).stdout.strip()
    uid = t.uid_of(sb, jti)
    uids.append(uid)
    t.expect(t.UID_MIN <= uid <= t.UID_MAX, f"uid {uid} outside the lockbox range")

    good = Pty("the engineer's, as /dev/pts/N", owner_uid=uid)
    good_short = Pty("the engineer's, as pts/N", owner_uid=uid)
    rootowned = Pty("root's")
    behind_link = Pty("the engineer's, named by a symlink", owner_uid=uid)
    behind_dir = Pty("the engineer's, named through a symlinked dir", owner_uid=uid)
    ptys = [good, good_short, rootowned, behind_link, behind_dir]
    t.expect(os.stat(rootowned.path).st_uid == 0, "the root-owned pty is not root's")
    not_a_tty = "/dev/shm/lockbox-not-a-tty"
    with open(not_a_tty, "w"):
        pass
    os.chown(not_a_tty, uid, uid)
    # Read back through this fd: the end of the grant removes the engineer's
    # files in /dev/shm. Opened before the watch, so it is not counted.
    not_a_tty_fd = os.open(not_a_tty, os.O_RDONLY | os.O_CLOEXEC)
    os.symlink(behind_link.path, "/dev/shm/lockbox-tty")
    os.symlink("/dev/pts", "/dev/shm/lockbox-pts")
    via_dir = "/dev/shm/lockbox-pts/" + os.path.basename(behind_dir.path)
    t.expect(os.stat(via_dir).st_ino == os.stat(behind_dir.path).st_ino, "the symlinked dir does not reach the pty")

    inotify = Inotify()
    for path in (not_a_tty, rootowned.path, behind_link.path, behind_dir.path, good.path):
        inotify.watch(path)

    leader = t.spawn_as(sb, uid, ["sleep", "120"])
    lf.wait_until(lambda: leader.pid in t.live_pids(uid), 10, what="the engineer's process")
    ttys = [good.path, "pts/" + os.path.basename(good_short.path), rootowned.path, not_a_tty,
            "/dev/shm/lockbox-tty", via_dir]
    exp_s = None
    for tty in ttys:
        r = t.call(sb, "OpenSession", "susss", "eng", leader.pid, tty, "127.0.0.1", "")
        t.expect(r.returncode == 0, f"OpenSession on {tty}: {r.stderr}")
        sid, grant_id, _ticket, expires_usec = json.loads(r.stdout)["data"]
        t.expect(len(sid) == 32 and grant_id == jti, f"session {sid!r} of grant {grant_id!r} for {tty}")
        exp_s = int(expires_usec) / 1e6
    t.expect(time.time() < exp_s - LEADS[0],
             "setup too slow: the first warning was due before the sessions were open")

    for lead in LEADS:
        due = exp_s - lead
        needle = expected_text(jti, lead)
        for pty in (good, good_short):
            arrived = pty.wait_for(needle, due + LATE_OK + 2)
            t.expect(due - 0.05 <= arrived <= due + LATE_OK,
                     f"{lead}s warning on {pty.path} at exp-{exp_s - arrived:.2f}s, due at exp-{lead}s")
    t.expect(good.received.count(b"*** Lockbox:") == len(LEADS) and
             good_short.received.count(b"*** Lockbox:") == len(LEADS),
             f"one line per lead expected: {good.received!r} / {good_short.received!r}")

    # The end of the grant comes after the last warning's tick: once its kill
    # is done, every warning round that would have touched the others is over.
    t.wait_gone(uid, timeout=GRANT_SECONDS)
    sb.journal(match={"LOCKBOX_EVENT": "session-killed", "LOCKBOX_REQUEST_ID": jti}, expect=1)
    for pty in (rootowned, behind_link, behind_dir):
        t.expect(pty.drain() == b"", f"{pty.path} ({pty.label}) was written: {pty.received!r}")
    t.expect(os.pread(not_a_tty_fd, 4096, 0) == b"", f"{not_a_tty} was written")
    os.close(not_a_tty_fd)
    opened = inotify.opened()
    # The watch does see lockboxd's opens (inotify merges repeats of an unread
    # event, so two warnings may show as one): "not opened" below means something.
    t.expect(good.path in opened, f"no open of the engineer's terminal seen: {opened}")
    wrongly = [p for p in opened if p != good.path]
    t.expect(not wrongly, f"lockboxd opened paths it must only look at: {wrongly}")
    inotify.close()
    for pty in ptys:
        pty.close()


if __name__ == "__main__":
    t.run(main)

#!/usr/bin/python3
"""Integration tests for libnss_lockbox.so.2, one case per invocation:

  exported_symbols  only _nss_lockbox_* exported; only libc NEEDED
  nss_wrapper       glibc lookups through nss_wrapper's module backend
  getent_namespace  glibc's own getent with `passwd: files lockbox` inside
                    unshare --mount; the module is made visible at the real
                    multiarch path by a read-only overlay (nothing on the host
                    changes), the cache sits at the default /run/lockbox path on
                    a namespace-private tmpfs.

Exit 77 = skipped (sanitizer builds for the cases that load the instrumented
module into uninstrumented programs; missing tools; not root).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
MODULE = os.environ.get("LOCKBOX_NSS_MODULE", "")
TOOL = os.environ.get("LOCKBOX_NSS_CACHE_TOOL", "")
SANITIZED = os.environ.get("LOCKBOX_SANITIZE", "none") not in ("", "none")
MULTIARCH = "/lib/x86_64-linux-gnu"
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"

UID1, UID2, UID_OLD, TEAM = 2100000001, 2100000002, 2100000003, 2100090000
SPEC = {
    "users": [
        {"name": "eng1", "uid": UID1, "gecos": "Engineer One,INC-7", "expires_in": 3600},
        {"name": "eng2", "uid": UID2, "expires_in": 3600},
        {"name": "old1", "uid": UID_OLD, "expires_in": -60},
        # also a local account below: local accounts must win
        {"name": "localeng", "uid": 2100000005, "expires_in": 3600},
    ],
    "groups": [
        {"name": "eng1", "gid": UID1, "expires_in": 3600},
        {"name": "eng2", "gid": UID2, "expires_in": 3600},
        {"name": "lockbox-team", "gid": TEAM, "members": ["eng1", "eng2"], "expires_in": 3600},
    ],
}
LOCAL_PASSWD = "localeng:x:1501:1501:Local Admin:/home/localeng:/bin/sh\n"

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(argv, env=None, timeout=20):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def write_cache(path):
    r = subprocess.run([TOOL, "write", path], input=json.dumps(SPEC), text=True,
                       capture_output=True, timeout=20)
    if r.returncode != 0:
        raise SystemExit(f"nss_cache_tool failed: {r.stderr}")


def getent_checks(env):
    """The same expectations whichever way glibc reaches the module."""
    r = run(["getent", "passwd", "eng1"], env)
    check(r.returncode == 0 and r.stdout.strip() ==
          f"eng1:*:{UID1}:{UID1}:Engineer One,INC-7:/var/lib/lockbox/home/eng1:/bin/bash",
          f"getent passwd eng1 -> {r.stdout.strip()!r} rc={r.returncode}")
    r = run(["getent", "passwd", str(UID2)], env)
    check(r.returncode == 0 and r.stdout.startswith("eng2:*:"), f"getent passwd {UID2} -> {r.stdout.strip()!r}")
    r = run(["getent", "passwd", "old1"], env)
    check(r.returncode == 2 and r.stdout == "", f"expired old1 does not resolve (rc={r.returncode})")
    r = run(["getent", "passwd", "nosuchuser"], env)
    check(r.returncode == 2, "unknown user does not resolve")
    r = run(["getent", "passwd", "localeng"], env)
    check(r.returncode == 0 and ":1501:" in r.stdout, f"local account wins: {r.stdout.strip()!r}")
    r = run(["getent", "group", "lockbox-team"], env)
    check(r.returncode == 0 and r.stdout.strip() == f"lockbox-team:*:{TEAM}:eng1,eng2",
          f"getent group lockbox-team -> {r.stdout.strip()!r}")
    r = run(["getent", "group", str(UID1)], env)
    check(r.returncode == 0 and r.stdout.startswith("eng1:*:"), f"getent group {UID1} -> {r.stdout.strip()!r}")
    r = run(["id", "-G", "eng1"], env)
    check(r.returncode == 0 and set(r.stdout.split()) == {str(UID1), str(TEAM)},
          f"id -G eng1 (initgroups) -> {r.stdout.strip()!r}")


def case_exported_symbols():
    if not shutil.which("nm") or not shutil.which("readelf"):
        return SKIP
    r = run(["nm", "-D", "--defined-only", MODULE])
    names = [line.split()[-1] for line in r.stdout.splitlines() if line.strip()]
    expected = {f"_nss_lockbox_{n}" for n in (
        "getpwnam_r", "getpwuid_r", "setpwent", "getpwent_r", "endpwent",
        "getgrnam_r", "getgrgid_r", "setgrent", "getgrent_r", "endgrent", "initgroups_dyn")}
    check(set(names) == expected, f"exports exactly the NSS entry points: {sorted(set(names) ^ expected)} differ")
    r = run(["readelf", "-d", MODULE])
    needed = [l.split("[")[1].rstrip("]") for l in r.stdout.splitlines() if "(NEEDED)" in l]
    soname = [l.split("[")[1].rstrip("]") for l in r.stdout.splitlines() if "(SONAME)" in l]
    check(soname == ["libnss_lockbox.so.2"], f"SONAME {soname}")
    if SANITIZED:
        needed = [n for n in needed if not n.startswith(("libasan", "libubsan"))]
    check(needed == ["libc.so.6"], f"NEEDED is libc only: {needed}")
    return 0


def case_nss_wrapper():
    if SANITIZED:
        return SKIP  # instrumented module inside uninstrumented getent
    if not os.path.exists(NSS_WRAPPER):
        return SKIP
    with tempfile.TemporaryDirectory(prefix="lockbox-nsswrap-") as d:
        cache = os.path.join(d, "nss.cache")
        write_cache(cache)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/bash\n" + LOCAL_PASSWD)
        with open(os.path.join(d, "group"), "w") as f:
            f.write("root:x:0:\nlocaleng:x:1501:\n")
        env = dict(os.environ,
                   LD_PRELOAD=NSS_WRAPPER,
                   NSS_WRAPPER_PASSWD=os.path.join(d, "passwd"),
                   NSS_WRAPPER_GROUP=os.path.join(d, "group"),
                   NSS_WRAPPER_MODULE_SO_PATH=MODULE,
                   NSS_WRAPPER_MODULE_FN_PREFIX="lockbox",
                   LOCKBOX_NSS_CACHE=cache)
        getent_checks(env)
        # the module follows a replacement made while nothing runs
        spec_users = SPEC["users"]
        SPEC["users"] = [u for u in spec_users if u["name"] != "eng2"]
        write_cache(cache)
        SPEC["users"] = spec_users
        r = run(["getent", "passwd", "eng2"], env)
        check(r.returncode == 2, "eng2 gone after the cache was rewritten without it")
    return 0


def case_getent_namespace():
    if SANITIZED:
        return SKIP
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return SKIP
    if not os.path.isdir(MULTIARCH) or os.path.exists(os.path.join(MULTIARCH, "libnss_lockbox.so.2")):
        return SKIP  # an installed module would make the test prove nothing
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "getent_namespace_inner"], timeout=50)
    return r.returncode


def mount(*args):
    subprocess.run(["mount", *args], check=True, timeout=10)


def case_getent_namespace_inner():
    with tempfile.TemporaryDirectory(prefix="lockbox-getent-") as d:
        libdir = os.path.join(d, "lib")
        os.mkdir(libdir)
        shutil.copy(MODULE, os.path.join(libdir, "libnss_lockbox.so.2"))
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write(passwd + LOCAL_PASSWD)
        with open(os.path.join(d, "nsswitch.conf"), "w") as f:
            f.write("passwd: files lockbox\ngroup: files lockbox\nshadow: files\n"
                    "hosts: files\n")
        # Everything below happens in this mount namespace only.
        mount("-t", "overlay", "overlay", "-o", f"lowerdir={libdir}:{MULTIARCH}", MULTIARCH)
        mount("--bind", os.path.join(d, "nsswitch.conf"), "/etc/nsswitch.conf")
        mount("--bind", os.path.join(d, "passwd"), "/etc/passwd")
        mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
        os.makedirs("/run/lockbox", mode=0o755)
        write_cache("/run/lockbox/nss.cache")  # the default path, no override
        env = {k: v for k, v in os.environ.items() if k not in ("LOCKBOX_NSS_CACHE", "LD_PRELOAD")}
        getent_checks(env)
        r = run(["getent", "passwd"], env)
        names = [l.split(":")[0] for l in r.stdout.splitlines()]
        check("eng1" in names and "eng2" in names and "old1" not in names and names[0] == "root",
              "getent passwd enumerates files first, then live lockbox users")
        # a corrupt cache means no users, not a crash
        with open("/run/lockbox/nss.cache", "r+b") as f:
            f.write(b"garbage!")
        r = run(["getent", "passwd", "eng1"], env)
        check(r.returncode == 2, f"corrupt cache: eng1 does not resolve, getent exits 2 (rc={r.returncode})")
        r = run(["getent", "passwd", "root"], env)
        check(r.returncode == 0, "corrupt cache: local root still resolves")
        os.chmod("/run/lockbox/nss.cache", 0o666)
        write_cache("/run/lockbox/nss.cache")
        r = run(["getent", "passwd", "eng1"], env)
        check(r.returncode == 0, "rewritten cache resolves again")
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    case = sys.argv[1]
    if case != "getent_namespace_inner" and (not MODULE or not os.path.exists(MODULE)):
        print("LOCKBOX_NSS_MODULE not set or missing")
        return 1
    rc = {
        "exported_symbols": case_exported_symbols,
        "nss_wrapper": case_nss_wrapper,
        "getent_namespace": case_getent_namespace,
        "getent_namespace_inner": case_getent_namespace_inner,
    }[case]()
    if rc == SKIP:
        print(f"skipped: {case}")
        return SKIP
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())

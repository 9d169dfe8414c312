#!/usr/bin/env python3
"""`meson install --destdir` puts exactly the files of install-manifest.txt
into the tree, with the expected modes (nothing group/world-writable, no
set-id bits; executables only where expected).

usage: test_install_manifest.py BUILD_ROOT MANIFEST [--with=FEATURE]... NAME=DIR...
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def expected_files(manifest, dirs, features):
    files = set()
    for raw in open(manifest).read().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[(\w+)\]\s+(.*)$", line)
        if m:
            if m.group(1) not in features:
                continue
            line = m.group(2)
        files.add(os.path.normpath(line.format(**dirs)))
    return files


def main():
    build_root, manifest = sys.argv[1], sys.argv[2]
    features = {a.split("=", 1)[1] for a in sys.argv[3:] if a.startswith("--with=")}
    dirs = dict(a.split("=", 1) for a in sys.argv[3:] if not a.startswith("--"))
    expected = expected_files(manifest, dirs, features)

    destdir = tempfile.mkdtemp(prefix="lockbox-install-")
    try:
        r = subprocess.run(["meson", "install", "-C", build_root, "--no-rebuild", "--quiet",
                            "--destdir", destdir], capture_output=True, text=True, timeout=240)
        check(r.returncode == 0, f"meson install --destdir succeeds ({r.stderr.strip()[-500:]})")
        installed = set()
        for root, _, names in os.walk(destdir):
            for name in names:
                installed.add("/" + os.path.relpath(os.path.join(root, name), destdir))
        for path in sorted(expected - installed):
            check(False, f"installed: {path}")
        for path in sorted(installed - expected):
            check(False, f"expected (add to install-manifest.txt or stop installing): {path}")
        check(installed == expected, f"installed tree matches the manifest ({len(installed)} files)")

        executables = {dirs["bindir"], dirs["sbindir"], dirs["lockboxlibexecdir"]}
        for path in sorted(installed & expected):
            st = os.lstat(destdir + path)
            mode = stat.S_IMODE(st.st_mode)
            check(mode & 0o022 == 0 and mode & 0o7000 == 0,
                  f"{path} mode {mode:04o} is not writable by others and has no set-id bit")
            if os.path.dirname(path) in executables:
                check(mode & 0o111 != 0, f"{path} is executable")
            elif path.endswith((".service", ".conf", ".xml", ".catalog", ".md")):
                check(mode & 0o111 == 0, f"{path} is not executable")
    finally:
        shutil.rmtree(destdir, ignore_errors=True)
    print(f"install manifest: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

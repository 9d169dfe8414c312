#!/usr/bin/python3
"""pam_lockbox.so exports exactly the PAM entry points, was linked with -z defs
(no undefined symbol left for the host program to supply), and needs no
executable stack or text relocations."""
import subprocess
import sys

EXPECTED = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
            "pam_sm_open_session", "pam_sm_close_session"}


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=20).stdout


def main():
    module = sys.argv[1]
    failures = []

    exported = set()
    for line in run("nm", "-D", "--defined-only", module).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWwDdBbVvRr":
            exported.add(parts[2].split("@")[0])
    if exported != EXPECTED:
        failures.append("exports %s, expected exactly %s" %
                        (sorted(exported - EXPECTED) or "-", sorted(EXPECTED)))

    # libpam must be NEEDED (a module relying on its host to provide pam_*
    # symbols breaks in programs that load libpam lazily); no text relocations;
    # bound at load time.
    dynamic = run("readelf", "-d", "-W", module)
    needed = [l.split("[")[1].rstrip("]") for l in dynamic.splitlines() if "(NEEDED)" in l]
    if "libpam.so.0" not in needed:
        failures.append("libpam.so.0 not NEEDED: %s" % needed)
    if "TEXTREL" in dynamic:
        failures.append("module has text relocations")
    flags = [l for l in dynamic.splitlines() if "(FLAGS" in l]
    if not any("NOW" in l for l in flags):
        failures.append("module not linked with -z now: %s" % flags)
    headers = run("readelf", "-l", "-W", module)
    for line in headers.splitlines():
        if "GNU_STACK" in line and "RWE" in line:
            failures.append("executable stack")
    # -z defs: a symbol nobody provides fails the link; what is left must all
    # come from the NEEDED libraries, which ld.so verifies at RTLD_NOW.
    ldd = subprocess.run(["ldd", "-r", module], capture_output=True, text=True, timeout=20)
    if "undefined symbol" in ldd.stdout + ldd.stderr:
        failures.append("undefined symbols: %s" % (ldd.stdout + ldd.stderr))

    for f in failures:
        print("FAIL:", f)
    print("exports:", sorted(exported))
    print("needed:", needed)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

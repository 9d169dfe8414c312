#!/usr/bin/env python3
"""Every generated man page renders with groff without warnings and has the
sections a reader expects.

usage: test_man_pages.py PAGE...
"""
import re
import shutil
import subprocess
import sys

SKIP = 77
passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def main():
    groff = shutil.which("groff")
    for page in sys.argv[1:]:
        text = open(page).read()
        check(re.search(r'^\.TH "?[\w.-]+"? "?[1-8]"?', text, re.M) is not None, f"{page} has a .TH header")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
            check(re.search(rf'^\.SH "?{section}"?', text, re.M) is not None, f"{page} has {section}")
        if groff:
            r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True,
                               timeout=30)
            check(r.returncode == 0 and r.stderr.strip() == "", f"{page} renders cleanly ({r.stderr.strip()})")
    print(f"man pages: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

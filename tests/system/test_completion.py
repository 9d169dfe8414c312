#!/usr/bin/env python3
"""shell-completion/lockboxctl.bash completes the docs/design.md §5 verbs and
options (run in a clean bash with Debian's bash-completion loaded).

usage: test_completion.py LOCKBOXCTL_BASH
"""
import os
import re
import subprocess
import sys

SKIP = 77
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
CASES = [
    (["lockboxctl", ""], "request grant session audit watch key authorized-keys status --config --help"),
    (["lockboxctl", "request", ""], "create list show approve deny cancel"),
    (["lockboxctl", "grant", ""], "list show revoke release export import"),
    (["lockboxctl", "--config", "/x", "gr"], "grant"),
    (["lockboxctl", "request", "list", "--state", "pending-"], "pending-manager pending-approver"),
    (["lockboxctl", "request", "create", "--t"], "--tenant --ticket"),
    (["lockboxctl", "request", "list", "--"], "--state --limit --cursor --json"),
    (["lockboxctl", "grant", "list", "--"], "--limit --cursor --json"),
    (["lockboxctl", "request", "approve", "ID", "--"], "--duration --comment --access"),
    (["lockboxctl", "audit", "--"],
     "--since --until --event --actor --engineer --host --request --json --csv --limit"),
    (["lockboxctl", "audit", "--event", "session-k"], "session-killed"),
    (["lockboxctl", "audit", "--event", "grant-re"], "grant-refused grant-revoked grant-released"),
    (["lockboxctl", "key", "generate", ""], "--out"),
]
SCRIPT = """
source {bc}
source {script}
lockboxctl() {{ return 1; }}   # never reach a real daemon from a test
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
_lockboxctl
echo "${{COMPREPLY[*]}}"
"""


def audit_event_names():
    """The LOCKBOX_EVENT names of liblockbox/audit_event.h, which --event completes."""
    header = os.path.join(os.environ["LOCKBOX_SOURCE_ROOT"], "liblockbox", "audit_event.h")
    names = re.findall(r'\{AuditEvent::\w+, "([a-z-]+)", "[0-9a-f]{32}"\}', open(header).read())
    if len(names) < 20:
        raise AssertionError(f"cannot read the event names from {header}")
    return " ".join(names)


def main():
    if not os.path.exists(BASH_COMPLETION):
        print("skip: bash-completion is not installed")
        return SKIP
    script = SCRIPT.format(bc=BASH_COMPLETION, script=sys.argv[1])
    passed = failed = 0
    cases = CASES + [(["lockboxctl", "audit", "--event", ""], audit_event_names())]
    for words, expected in cases:
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash"] + words,
                           capture_output=True, text=True, timeout=30)
        got = r.stdout.strip()
        ok = r.returncode == 0 and got == expected
        print(("ok   " if ok else "FAIL ") + f"{' '.join(words)!r} -> {got!r} (want {expected!r})")
        passed, failed = passed + ok, failed + (not ok)
    print(f"completion: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

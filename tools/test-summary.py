#!/usr/bin/env python3
"""Counts meson test results from testlog.json files.

Prints "N passed, N failed, N skipped" (the plain closing line CI reads); with
--total, the sum over every file given."""
import json
import sys


def count(path):
    passed = failed = skipped = 0
    try:
        with open(path) as f:
            for line in f:
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        pass
    return passed, failed, skipped


def main(argv):
    total = argv[:1] == ["--total"]
    paths = argv[1:] if total else argv
    p = f = s = 0
    for path in paths:
        a, b, c = count(path)
        p, f, s = p + a, f + b, s + c
    print(f"{p} passed, {f} failed, {s} skipped")


if __name__ == "__main__":
    main(sys.argv[1:])

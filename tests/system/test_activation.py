#!/usr/bin/env python3
"""The D-Bus activation files follow systemd's convention (docs/design.md §6):
Exec=/bin/false, User=root, SystemdService= naming the unit whose BusName= is
the activated name, and that unit is Type=notify (the daemons send READY=1
after taking the name).

usage: test_activation.py UNIT_DIR ACTIVATION_FILE...
"""
import configparser
import os
import sys

passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def read_ini(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(path)
    return parser


def main():
    unit_dir = sys.argv[1]
    for path in sys.argv[2:]:
        name = os.path.basename(path)
        svc = read_ini(path)["D-BUS Service"]
        check(svc.get("Name") + ".service" == name, f"{name}: Name= matches the file name")
        check(svc.get("Exec") == "/bin/false", f"{name}: Exec=/bin/false")
        check(svc.get("User") == "root", f"{name}: User=root")
        unit_name = svc.get("SystemdService", "")
        unit_path = os.path.join(unit_dir, unit_name)
        check(os.path.isfile(unit_path), f"{name}: SystemdService={unit_name} is shipped")
        if os.path.isfile(unit_path):
            service = read_ini(unit_path)["Service"]
            check(service.get("BusName") == svc.get("Name"), f"{unit_name}: BusName={svc.get('Name')}")
            check(service.get("Type") == "notify", f"{unit_name}: Type=notify")
            check(service.get("LogRateLimitIntervalSec") == "0", f"{unit_name}: LogRateLimitIntervalSec=0")
    print(f"activation: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""systemd/lockbox.catalog explains exactly the MESSAGE_IDs of
liblockbox/audit_event.h, one entry each, in systemd's catalog form, and
journalctl accepts it (compiled into a catalog database under a temp root).

usage: test_catalog.py AUDIT_EVENT_H LOCKBOX_CATALOG
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# docs/design.md §7: the only fields an entry may refer to.
KNOWN_FIELDS = {"LOCKBOX_EVENT", "LOCKBOX_ACTOR", "LOCKBOX_HOST", "LOCKBOX_REQUEST_ID", "LOCKBOX_TENANT",
                "LOCKBOX_TICKET", "LOCKBOX_ENGINEER", "LOCKBOX_SESSION_ID", "LOCKBOX_AUDIT_SESSION",
                "LOCKBOX_REASON", "LOCKBOX_PIDS", "LOCKBOX_DELAY_MS",
                # requests-pruned (the approval store's retention runs)
                "LOCKBOX_COUNT", "LOCKBOX_CUTOFF", "LOCKBOX_RETENTION"}
passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


def header_ids(path):
    text = open(path).read()
    entries = re.findall(r'\{AuditEvent::(\w+),\s*"([a-z-]+)",\s*"([0-9a-f]{32})"\}', text)
    return [(event, name, mid) for event, name, mid in entries]


def catalog_entries(path):
    entries, current = [], None
    for line in open(path).read().splitlines():
        m = re.match(r"^-- ([0-9a-f]{32})(?: (\S+))?$", line)
        if m:
            current = {"id": m.group(1), "lang": m.group(2), "headers": {}, "body": []}
            entries.append(current)
        elif current is None:
            continue
        elif not current["body"] and re.match(r"^[A-Z][A-Za-z-]+: ", line):
            key, value = line.split(": ", 1)
            current["headers"][key] = value
        else:
            current["body"].append(line)
    return entries


def main():
    header, catalog = sys.argv[1], sys.argv[2]
    events = header_ids(header)
    check(len(events) >= 20, f"audit_event.h lists {len(events)} events (docs/design.md §7 has 20)")
    ids = [mid for _, _, mid in events]
    check(len(set(ids)) == len(ids), "MESSAGE_IDs in audit_event.h are unique")

    entries = [e for e in catalog_entries(catalog) if e["lang"] is None]
    catalog_ids = [e["id"] for e in entries]
    for mid in sorted(set(catalog_ids)):
        if catalog_ids.count(mid) > 1:
            check(False, f"catalog has {catalog_ids.count(mid)} entries for {mid}")
    for event, name, mid in events:
        check(catalog_ids.count(mid) == 1, f"catalog has one entry for {name} ({mid})")
    for mid in set(catalog_ids) - set(ids):
        check(False, f"catalog entry {mid} has no event in audit_event.h")

    for e in entries:
        h = e["headers"]
        body = "\n".join(e["body"]).strip()
        ok = bool(h.get("Subject")) and h.get("Defined-By") == "lockbox" and bool(h.get("Support")) and body != ""
        check(ok, f"{e['id']} has Subject, Defined-By: lockbox, Support and a body")
        fields = set(re.findall(r"@([A-Z0-9_]+)@", h.get("Subject", "") + "\n" + body))
        check(fields <= KNOWN_FIELDS, f"{e['id']} uses only docs/design.md §7 fields ({sorted(fields - KNOWN_FIELDS)})")

    journalctl = shutil.which("journalctl")
    if journalctl is None:
        print("skip: journalctl missing, catalog not compiled")
    else:
        root = tempfile.mkdtemp(prefix="lockbox-catalog-")
        try:
            catdir = os.path.join(root, "usr/lib/systemd/catalog")
            os.makedirs(catdir)
            shutil.copy(catalog, catdir)
            r = subprocess.run([journalctl, f"--root={root}", "--update-catalog"], capture_output=True,
                               text=True, timeout=60)
            check(r.returncode == 0 and "rror" not in r.stderr,
                  f"journalctl --update-catalog accepts the catalog ({r.stderr.strip()})")
            r = subprocess.run([journalctl, f"--root={root}", "--list-catalog"], capture_output=True,
                               text=True, timeout=60)
            listed = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
            check(listed == set(ids), f"compiled catalog lists every id ({len(listed)} of {len(ids)})")
        finally:
            shutil.rmtree(root, ignore_errors=True)

    print(f"catalog: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

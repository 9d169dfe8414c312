#!/usr/bin/env python3
"""systemd/org.lockbox.*.xml and docs/bus-api.md describe the same methods and
signals with the same signatures (the XML is the machine-readable copy that
the daemons' vtable tests use).

usage: test_interface_xml.py BUS_API_MD XML...
"""
import re
import sys
import xml.etree.ElementTree as ET

passes, failures = [], []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    (passes if condition else failures).append(what)


ARG = re.compile(r"^([a-z(){}]+) \w+$")


def signature(cell):
    """Concatenated D-Bus types of the `type name, type name` segments in a
    table cell; other code segments (`""`, `authorized_keys`) and
    parenthesised remarks are prose."""
    sig = ""
    for segment in re.findall(r"`([^`]*)`", cell):
        segment = re.sub(r"\s\([^)]*\)", "", segment)
        items = [i.strip() for i in segment.split(",")]
        if items and all(ARG.match(i) for i in items):
            sig += "".join(ARG.match(i).group(1) for i in items)
    return sig


def doc_members(md):
    """{interface: {("method"|"signal", name): (in_sig, out_sig)}} from the
    method/signal tables and the `Signals:` lines of bus-api.md."""
    result, iface, table = {}, None, None
    for line in open(md).read().splitlines():
        m = re.match(r"^## (org\.lockbox\.\w+)", line)
        if m:
            iface, table = m.group(1), None
            result[iface] = {}
            continue
        if iface is None:
            continue
        if not line.strip() and table == "prose":
            table = None
        elif line.startswith("| method"):
            table = "method"
        elif line.startswith("| signal"):
            table = "signal"
        elif line.startswith("Signals:") or (table == "prose" and line.strip()):
            table = "prose"
            for name, args in re.findall(r"`(\w+)\(([^)]*)\)`", line):
                result[iface][("signal", name)] = (signature(f"`{args}`"), "")
        elif line.startswith("| `") and table:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            name = cells[0].strip("`")
            if table == "method":
                result[iface][("method", name)] = (signature(cells[1]), signature(cells[2]))
            else:
                result[iface][("signal", name)] = (signature(cells[1]), "")
    return result


def xml_members(path):
    result = {}
    for iface in ET.parse(path).getroot().iter("interface"):
        members = {}
        for method in iface.iter("method"):
            ins = "".join(a.get("type") for a in method.iter("arg") if a.get("direction", "in") == "in")
            outs = "".join(a.get("type") for a in method.iter("arg") if a.get("direction") == "out")
            members[("method", method.get("name"))] = (ins, outs)
        for sig in iface.iter("signal"):
            members[("signal", sig.get("name"))] = ("".join(a.get("type") for a in sig.iter("arg")), "")
        result[iface.get("name")] = members
    return result


def main():
    docs = doc_members(sys.argv[1])
    xml = {}
    for path in sys.argv[2:]:
        xml.update(xml_members(path))
    for iface in sorted(set(docs) | set(xml)):
        d, x = docs.get(iface, {}), xml.get(iface, {})
        check(iface in docs and iface in xml, f"{iface} is in both bus-api.md and the XML")
        for key in sorted(set(d) | set(x)):
            check(d.get(key) == x.get(key), f"{iface} {key[0]} {key[1]}: docs {d.get(key)} xml {x.get(key)}")
    print(f"interface xml: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Request history without cuts (docs/bus-api.md "Paging"): ListRequestsPage
pages put together are ListRequests' list, with no request twice and none left
out, also when requests are filed between pages; engineers page through their
own requests only and no cursor names anyone else's; malformed, oversized and
out-of-range arguments are refused; `lockboxctl request list` and `grant list`
page with --limit/--cursor and, without --limit, print every request even when
the list is larger than one 8 MiB bus reply."""
import json
import os
import sqlite3
import sys
import time

import lockbox_fixture as lf
import approvald_world as w

PATH, IFACE = "/org/lockbox/Approval1", "org.lockbox.Approval1"


def page(sb, user, state="", cursor="", limit=0):
    r = sb.busctl_call(w.BUS_NAME, PATH, IFACE, "ListRequestsPage", "ssu", state, cursor, str(limit), user=user)
    assert r.returncode == 0, f"ListRequestsPage as {user}: {r.stderr}"
    array, next_cursor = json.loads(r.stdout)["data"]
    return json.loads(array), next_cursor


def refused(sb, user, state, cursor, limit, needle):
    r = sb.busctl_call(w.BUS_NAME, PATH, IFACE, "ListRequestsPage", "ssu", state, cursor, str(limit), user=user)
    assert r.returncode != 0, f"ListRequestsPage({state!r}, {cursor[:40]!r}, {limit}) as {user} was accepted"
    assert needle in r.stderr, f"refusal lacks {needle!r}: {r.stderr!r}"


def ids(requests):
    return [x["id"] for x in requests]


def ctl_json(sb, args, user):
    return json.loads(sb.ctl(args + ["--json"], user=user, check=True).stdout)


def page_through_ctl(sb, user, limit, extra=(), between=None):
    """`request list --limit` page by page, following next_cursor."""
    seen, cursor, pages = [], "", 0
    while True:
        args = ["request", "list", "--limit", str(limit)] + list(extra) + (["--cursor", cursor] if cursor else [])
        got = ctl_json(sb, args, user)
        assert set(got) == {"requests", "next_cursor"}, got.keys()
        assert len(got["requests"]) <= limit
        seen += ids(got["requests"])
        pages += 1
        cursor = got["next_cursor"]
        if not cursor:
            return seen, pages
        assert got["requests"], "a page with a next cursor holds nothing"
        if between:
            between()


def main():
    lf.enter_namespace()
    with lf.Sandbox() as sb:
        keys = w.setup(sb)
        d = w.start(sb)
        for i in range(12):
            w.create(sb, keys, user="mallory" if i % 3 == 0 else "eve")
        full = ctl_json(sb, ["request", "list"], "alice")
        assert len(full) == 12, len(full)
        # The old method answers the same list in the same order.
        r = sb.busctl_call(w.BUS_NAME, PATH, IFACE, "ListRequests", "s", "", user="alice")
        assert ids(json.loads(json.loads(r.stdout)["data"][0])) == ids(full)

        # -- pages concatenate to the list, while requests are filed between them
        filed_later = []
        seen, pages = page_through_ctl(sb, "alice", 5,
                                       between=lambda: filed_later.append(w.create(sb, keys, user="eve")))
        assert seen == ids(full), (seen, ids(full))
        assert len(seen) == len(set(seen)) and pages == 3, pages
        assert not set(filed_later) & set(seen)
        assert ids(ctl_json(sb, ["request", "list"], "alice"))[:len(filed_later)] == filed_later[::-1]

        # The bus method itself: limit 0 is the default page (100), a limit of
        # 1 pages one by one, a page that ends the list has no cursor.
        everything = ids(ctl_json(sb, ["request", "list"], "alice"))
        got, cursor = page(sb, "alice", limit=0)
        assert ids(got) == everything and cursor == "", cursor
        one_by_one, cursor = [], ""
        while True:
            got, cursor = page(sb, "alice", cursor=cursor, limit=1)
            assert len(got) == 1, got
            one_by_one += ids(got)
            if not cursor:
                break
        assert one_by_one == everything

        # A state filter pages alike.
        sb.ctl(["request", "approve", everything[3]], user="alice", check=True)
        sb.ctl(["request", "approve", everything[7]], user="alice", check=True)
        pending = ids(ctl_json(sb, ["request", "list", "--state", "pending-approver"], "alice"))
        assert sorted(pending) == sorted([everything[3], everything[7]])
        seen, _ = page_through_ctl(sb, "alice", 1, extra=["--state", "pending-approver"])
        assert seen == pending

        # -- engineers page through their own requests only
        eves = ids(ctl_json(sb, ["request", "list"], "eve"))
        mallorys = ids(ctl_json(sb, ["request", "list"], "mallory"))
        assert len(mallorys) == 4 and not set(eves) & set(mallorys)
        assert sorted(eves + mallorys) == sorted(everything)
        seen, _ = page_through_ctl(sb, "mallory", 1)
        assert seen == mallorys
        cursor, cursors = "", []
        while True:
            got, cursor = page(sb, "mallory", cursor=cursor, limit=1)
            assert set(ids(got)) <= set(mallorys)
            if not cursor:
                break
            cursors.append(cursor)
        # A cursor names the last request its page held: one of mallory's.
        assert all(c.endswith(tuple(mallorys)) for c in cursors), cursors
        # Another's cursor is only a position: eve still sees her own alone.
        got, _ = page(sb, "eve", cursor=cursors[0], limit=1000)
        assert set(ids(got)) <= set(eves) and ids(got) == [x for x in eves if everything.index(x) >
                                                          everything.index(mallorys[0])]
        w.expect_refused(sb, ["request", "list", "--limit", "3"], "oscar", "role")

        # -- bad arguments are refused, named, before anything is read
        good_cursor = page(sb, "alice", limit=1)[1]
        for bad in ("garbage", good_cursor + "x", good_cursor.replace("c1.", "c2."), "c1.-5." + everything[0],
                    "c1.1." + everything[0].upper(), "x" * 100, "c1." + "9" * 61):
            refused(sb, "alice", "", bad, 5, "cursor")
        refused(sb, "alice", "", "c" * 20000, 5, "cursor")
        refused(sb, "alice", "", "", 1001, "limit")
        refused(sb, "alice", "", "", 4294967295, "limit")
        refused(sb, "alice", "bogus", "", 5, "state")
        for bad in ("0", "1001", "-1", "ten"):
            r = sb.ctl(["request", "list", "--limit", bad], user="alice")
            assert r.returncode == 2 and r.stdout == "", (bad, r)
        w.expect_refused(sb, ["request", "list", "--cursor", "garbage"], "alice", "cursor")

        # -- table mode: the table on stdout, where the next page starts on stderr
        r = sb.ctl(["request", "list", "--limit", "2"], user="alice", check=True)
        assert len(r.stdout.splitlines()) == 3, r.stdout  # header and two rows
        assert "--cursor c1." in r.stderr, r.stderr
        cont = r.stderr.split("--cursor ", 1)[1].split()[0]
        r = sb.ctl(["request", "list", "--limit", "2", "--cursor", cont], user="alice", check=True)
        assert everything[2] in r.stdout and everything[1] not in r.stdout, r.stdout

        # -- grant list through the approval service pages by grants
        grants = []
        for rid in (everything[3], everything[7]):
            sb.ctl(["request", "approve", rid], user="bob", check=True)
            grants.append(rid)
        got = ctl_json(sb, ["grant", "list", "--source", "approval", "--limit", "1"], "alice")
        assert ids(got["grants"]) == [grants[0]] and got["next_cursor"], got
        got = ctl_json(sb, ["grant", "list", "--source", "approval", "--limit", "1", "--cursor",
                            got["next_cursor"]], "alice")
        assert ids(got["grants"]) == [grants[1]], got
        rest = ctl_json(sb, ["grant", "list", "--source", "approval", "--limit", "5", "--cursor",
                             got["next_cursor"]], "alice") if got["next_cursor"] else {"grants": []}
        assert rest["grants"] == [], rest
        assert ids(ctl_json(sb, ["grant", "list", "--source", "approval"], "alice")) == grants

        # -- a history larger than one 8 MiB reply: ListRequests cuts it,
        # lockboxctl pages through all of it. Written straight into the store
        # (16 keys of 8 KiB each make a request of ~130 KiB): filing them
        # through the bus would take minutes.
        sb.stop_daemon(d)
        db = sqlite3.connect(os.path.join(sb.dir, "state", "approval", "requests.db"))
        key = "ssh-ed25519 " + "A" * 8000
        now = int(time.time() * 1e6)
        big = []
        with db:
            for i in range(80):
                rid = f"00000000-0000-4000-8000-{i:012d}"
                big.append(rid)
                db.execute("INSERT INTO requests (id, state, tenant, ticket, engineer, reason, requested_duration, "
                           "duration, created_by, created_at, pending_until, updated_at) VALUES "
                           "(?, 'denied', 'contoso', 'INC-1', 'eve', 'old', 3600000000, 3600000000, 'eve', ?, ?, ?)",
                           (rid, now - 10**9 - i, now, now))
                db.executemany("INSERT INTO request_ssh_keys (request_id, position, key) VALUES (?, ?, ?)",
                               [(rid, k, key) for k in range(16)])
        db.close()
        d = w.start(sb)
        r = sb.busctl_call(w.BUS_NAME, PATH, IFACE, "ListRequests", "s", "", user="alice")
        cut = json.loads(json.loads(r.stdout)["data"][0])
        total = len(everything) + len(big)  # everything: filed_later included
        assert len(cut) < total, f"ListRequests held all {total}: the history is not larger than one reply"
        started = time.monotonic()
        r = sb.ctl(["request", "list", "--json"], user="alice", check=True, timeout=60)
        listed = json.loads(r.stdout)
        assert len(listed) == total and ids(listed)[-len(big):] == big, (len(listed), total)
        assert len(r.stdout) > 8 << 20
        print(f"request list: {total} requests, {len(r.stdout) >> 20} MiB of JSON in "
              f"{time.monotonic() - started:.1f} s (ListRequests held {len(cut)})")
        sb.stop_daemon(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

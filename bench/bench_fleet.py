#!/usr/bin/env python3
"""The fleet simulator (docs/fleet.md, run by tools/bench): a real 3-member etcd
cluster with TLS, the signer's approval service on its bus, and N host-mode
followers in one process (bench_fleet_followers hosts: FleetHost exactly as
lockbox-approvald runs it, each with its own connection), for each N of
LOCKBOX_BENCH_FLEET_N (default "100 1000").

Per N it prints, median of LOCKBOX_BENCH_FLEET_ROUNDS (default 3):
- bare: a put of a grant-sized value -> all N bare gRPC watch streams saw it
  (bench_fleet_followers bare), the baseline;
- approval: the approver's `lockboxctl request approve` (the final one, through
  the bus, signing, the store, publication) -> the grant in all N mirrors;
- revocation: `lockboxctl grant revoke` -> the signed revocation in all N;
each also as a ratio to the bare figure of the same run; and etcd's resident
memory per watcher (the members' VmRSS growth over N watchers, divided by N).
"""
import json
import os
import select
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import lockbox_e2e as e2e  # noqa: E402
import lockbox_fixture as lf  # noqa: E402
import lockbox_scenario as sc  # noqa: E402
from etcd_cluster import have_etcd  # noqa: E402
from lockbox_fleet import install_identity, on_signer, prepare, setup_signer  # noqa: E402

NS = [int(n) for n in os.environ.get("LOCKBOX_BENCH_FLEET_N", "100 1000").split()]
ROUNDS = int(os.environ.get("LOCKBOX_BENCH_FLEET_ROUNDS", "3"))
# 10 000 TLS connections, 200 at a time, took this machine 60-100 s to open.
SETUP_TIMEOUT = int(os.environ.get("LOCKBOX_BENCH_FLEET_SETUP_TIMEOUT", "600"))
TOKEN_BYTES = 1000  # about a grant token with one key and a short reason
FOLLOWERS = lf.build_path("bench/bench_fleet_followers")


_pending = {}


def read_line(proc, timeout, what):
    """One JSON line from proc's stdout, from the fd itself: select() cannot see
    lines already in a Python file object's buffer."""
    buf = _pending.setdefault(proc.pid, b"")
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{what}: nothing after {timeout}s")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"{what}: the followers exited ({proc.poll()})")
            buf += chunk
    line, _, rest = buf.partition(b"\n")
    _pending[proc.pid] = rest
    return json.loads(line)


def wait_key(proc, key, event, timeout=120):
    while True:
        j = read_line(proc, timeout, f"{event} of {key}")
        if j.get("key") == key and (event is None or j.get("event") == event):
            return j


def etcd_rss_kib(cluster):
    total = 0
    for proc in cluster.procs.values():
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def distinct_sources(endpoint):
    """How many distinct local addresses have an established connection to
    endpoint's port: the kernel's view of bench_fleet_followers' source
    addresses (/proc/net/tcp and tcp6 of this network namespace)."""
    port = int(endpoint.rsplit(":", 1)[1])
    sources = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                local, remote, state = line.split()[1:4]
                if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    sources.add(local.rsplit(":", 1)[0][-8:])  # the IPv4 part, also of ::ffff:a.b.c.d
    return len(sources)


def start(sb, argv, ready_timeout):
    # Each follower logs its start to the log; only its end matters here.
    log_path = os.path.join(sb.dir, f"followers-{argv[0]}-{argv[1]}.log")
    with open(log_path, "wb") as log:
        proc = sb.spawn([FOLLOWERS] + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=False)
    # Followers report what they find already issued (an earlier N's grants,
    # revoked but kept until their lease ends) before they report ready.
    deadline = time.monotonic() + ready_timeout
    try:
        while True:
            j = read_line(proc, max(deadline - time.monotonic(), 1), "followers ready")
            if "failed" in j:
                raise RuntimeError(f"{j['failed']} of the followers' watch streams could not be created")
            if "setup_ms" in j:
                return proc, j
    except (RuntimeError, TimeoutError) as e:
        with open(log_path, "rb") as log:
            tail = log.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"{e}; the followers' last words:\n{tail}") from None


def stop(proc):
    proc.stdin.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def measure(sb, cluster, signer_bus, key_pub, n, conf):
    root_cert, root_key = cluster.identity("root")
    before = etcd_rss_kib(cluster)
    bare, ready_bare = start(sb, ["bare", str(n), cluster.endpoints[0], cluster.ca.cert, root_cert, root_key,
                                  f"/bench/{n}/"], SETUP_TIMEOUT)
    per_watcher = (etcd_rss_kib(cluster) - before) / n
    seen_bare = distinct_sources(cluster.endpoints[0])
    bare_ms = []
    for i in range(ROUNDS):
        bare.stdin.write(f"put /bench/{n}/k{i} {TOKEN_BYTES}\n".encode())
        bare.stdin.flush()
        t0 = last = None
        while t0 is None or last is None:  # the watchers may report before the put returns
            try:
                j = read_line(bare, 60, "bare put")
            except TimeoutError:
                bare.stdin.write(b"report\n")
                bare.stdin.flush()
                raise TimeoutError(f"bare put: not all {n} watchers saw it in 60 s: {read_line(bare, 30, 'report')}")
            t0 = j.get("t0_ms", t0)
            last = j.get("last_ms", last)
        bare_ms.append(last - t0)
    stop(bare)

    base = f"/var/lib/lockbox-bench/{n}"
    os.makedirs(base)
    hosts, ready_hosts = start(sb, ["hosts", str(n), conf, base], SETUP_TIMEOUT)
    seen_hosts = distinct_sources(cluster.endpoints[0])
    approve_ms, revoke_ms = [], []
    # Where the time goes: the lockboxctl call returned (the workflow's
    # transaction committed), then the first follower, then the last.
    approve_call, approve_first, revoke_call, revoke_first = [], [], [], []
    for i in range(ROUNDS):
        r = on_signer(sb, signer_bus, ["request", "create", "--tenant", sc.TENANT, "--ticket", f"BENCH-{n}-{i}",
                                       "--host", "@bench", "--duration", "1h", "--reason", "fleet benchmark",
                                       "--ssh-key", key_pub, "--engineer", "eve"], sc.CREATOR)
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        assert on_signer(sb, signer_bus, ["request", "approve", rid], sc.MANAGER).returncode == 0
        t0 = time.time() * 1000
        r = on_signer(sb, signer_bus, ["request", "approve", rid], sc.APPROVER)
        approve_call.append(time.time() * 1000 - t0)
        assert r.returncode == 0, r.stderr
        seen = wait_key(hosts, rid, "GrantIssued")
        approve_ms.append(seen["last_ms"] - t0)
        approve_first.append(seen["first_ms"] - t0)
        t0 = time.time() * 1000
        r = on_signer(sb, signer_bus, ["grant", "revoke", rid, "--reason", "benchmark"], sc.APPROVER)
        revoke_call.append(time.time() * 1000 - t0)
        assert r.returncode == 0, r.stderr
        seen = wait_key(hosts, rid, "GrantRevoked")
        revoke_ms.append(seen["last_ms"] - t0)
        revoke_first.append(seen["first_ms"] - t0)
    stop(hosts)
    return {"n": n, "bare": statistics.median(bare_ms), "approve": statistics.median(approve_ms),
            "revoke": statistics.median(revoke_ms), "kib_per_watcher": per_watcher,
            "approve_parts": [statistics.median(x) for x in (approve_call, approve_first)],
            "revoke_parts": [statistics.median(x) for x in (revoke_call, revoke_first)],
            "setup_bare": ready_bare["setup_ms"], "setup_hosts": ready_hosts["setup_ms"],
            "sources": (ready_bare["sources"], ready_hosts["sources"]), "seen": (seen_bare, seen_hosts),
            "source_failures": ready_bare["source_failures"] + ready_hosts["source_failures"]}


def main():
    lf.enter_namespace()
    if not have_etcd():
        print("etcd missing; skipped")
        return 0
    with e2e.E2ESandbox() as sb:
        cluster = prepare(sb, ("bench-host",))
        policy = {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s"}
        signer_bus = setup_signer(sb, cluster, policy)
        conf = sb.write_config_file("/etc/lockbox/bench-hosts.conf", {
            "Host": {"Tenant": sc.TENANT, "Name": "bench-host"}, "Policy": policy,
            "Keys": {"KeyOwner": "0"},
            "Fleet": dict(install_identity(cluster, "bench-host", owner="root"), Mode="host")})
        sb.mount_tmpfs("/var/lib/lockbox-bench")
        key = sb.make_ssh_key("eve")
        rows = [measure(sb, cluster, signer_bus, key + ".pub", n, conf) for n in NS]
    print(f"{'hosts':>6} {'bare fan-out':>13} {'approval -> all':>16} {'ratio':>6} {'revocation -> all':>18} "
          f"{'ratio':>6} {'etcd KiB/watcher':>17}")
    for r in rows:
        print(f"{r['n']:>6} {r['bare']:>10.1f} ms {r['approve']:>13.1f} ms {r['approve'] / r['bare']:>5.2f}x "
              f"{r['revoke']:>15.1f} ms {r['revoke'] / r['bare']:>5.2f}x {r['kib_per_watcher']:>17.0f}")
    print("where the time goes (median ms from the lockboxctl call: call returned, first follower, last follower):")
    for r in rows:
        print(f"{r['n']:>6} approval {r['approve_parts'][0]:.1f} / {r['approve_parts'][1]:.1f} / {r['approve']:.1f}; "
              f"revocation {r['revoke_parts'][0]:.1f} / {r['revoke_parts'][1]:.1f} / {r['revoke']:.1f}")
    print("setting up (s): " + "; ".join(f"{r['n']} bare watchers {r['setup_bare'] / 1000:.1f}, host followers "
                                         f"{r['setup_hosts'] / 1000:.1f}" for r in rows))
    print("connections bound to a source address of their own in 127.0.0.0/8, bare / followers (distinct source "
          "addresses connected to etcd, from /proc/net/tcp): " +
          "; ".join(f"{r['n']}: {r['sources'][0]} / {r['sources'][1]} ({r['seen'][0]} / {r['seen'][1]}), "
                    f"{r['source_failures']} failed" for r in rows))
    print(f"(median of {ROUNDS}; approval counts from the approver's lockboxctl call, revocation from lockboxctl "
          "grant revoke, bare from the put call; targets: <= 1.3x bare, <= 1000 ms at 1000 hosts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

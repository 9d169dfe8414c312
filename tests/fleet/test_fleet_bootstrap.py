#!/usr/bin/env python3
"""lockboxctl fleet bootstrap on a real 3-member etcd cluster with TLS and client
certificates (docs/fleet.md): it creates the tenant's roles and users and turns
auth on; a second run changes nothing and succeeds; afterwards a host's identity
reads what was issued and is refused by etcd when it writes, a workflow identity
cannot write grants, the signer can; fleet status names the members and the leader.
lockboxctl hands the fleet verbs to lockboxctl-fleet and links no gRPC itself.
"""
import json
import os
import subprocess
import sys

import lockbox_fixture as fx
from etcd_cluster import EtcdCluster, have_etcd

fx.enter_namespace()
if not have_etcd():
    fx.log("etcd or etcdctl missing (tools/deps.sh installs etcd-server, etcd-client); skipping")
    sys.exit(fx.SKIP)


def ctl_fleet(sb, cluster, identity, args):
    cert, key = cluster.identity(identity)
    return sb.ctl(["fleet"] + args + ["--endpoints", ",".join(cluster.endpoints), "--cacert", cluster.ca.cert,
                                      "--cert", cert, "--key", key])


def main():
    with fx.Sandbox() as sb:
        sb.write_config({"Host": {"Tenant": "acme"}})
        cluster = EtcdCluster(sb).start()
        boot = ["bootstrap", "--tenant", "acme", "--signer", "signer-1", "--workflow", "wf-1",
                "--host", "web-1", "--host", "web-2"]
        first = ctl_fleet(sb, cluster, "root", boot)
        assert first.returncode == 0, first.stderr
        assert "tenant acme: created under /lockbox/acme/, auth enabled" in first.stdout, first.stdout
        assert "user web-1: role lockbox-acme-host" in first.stdout, first.stdout
        second = ctl_fleet(sb, cluster, "root", boot)
        assert second.returncode == 0, second.stderr
        assert "tenant acme: already present" in second.stdout, second.stdout

        # Auth is on: an identity etcd does not know is refused even a read.
        stranger = cluster.etcdctl(["get", "/lockbox/acme/tenant"], identity="stranger", check=False)
        assert stranger.returncode != 0, stranger.stdout
        # The signer writes what is issued; a host reads it and may not write.
        signed = cluster.etcdctl(["put", "/lockbox/acme/issued/grants/g1", "v4.public.x"], identity="signer-1",
                                 check=False)
        assert signed.returncode == 0, signed.stderr
        read = cluster.etcdctl(["get", "/lockbox/acme/issued/grants/g1", "--print-value-only"], identity="web-1")
        assert read.stdout.strip() == "v4.public.x", read.stdout
        for key in ("/lockbox/acme/issued/grants/g2", "/lockbox/acme/requests/r1", "/lockbox/other/x"):
            w = cluster.etcdctl(["put", key, "forged"], identity="web-1", check=False)
            assert w.returncode != 0 and "permission denied" in w.stderr, (key, w.stdout, w.stderr)
        # The workflow may write requests, never grants.
        ok = cluster.etcdctl(["put", "/lockbox/acme/requests/r1", "{}"], identity="wf-1", check=False)
        assert ok.returncode == 0, ok.stderr
        no = cluster.etcdctl(["put", "/lockbox/acme/issued/grants/g3", "forged"], identity="wf-1", check=False)
        assert no.returncode != 0 and "permission denied" in no.stderr, (no.stdout, no.stderr)
        # A host of another tenant's prefix: nothing.
        other = cluster.etcdctl(["get", "--prefix", "/lockbox/acme/requests/"], identity="web-1", check=False)
        assert other.returncode != 0 and "permission denied" in other.stderr, (other.stdout, other.stderr)

        status = ctl_fleet(sb, cluster, "web-1", ["status", "--json"])
        assert status.returncode == 0, status.stderr
        st = json.loads(status.stdout)
        assert sorted(m["name"] for m in st["members"]) == ["m1", "m2", "m3"], st
        assert sum(1 for e in st["endpoints"] if e.get("leader")) == 1, st
        # A member down: status says which and still answers.
        cluster.kill_member("m3")
        status = ctl_fleet(sb, cluster, "web-1", ["status"])
        assert status.returncode == 0, status.stderr
        assert "https://127.0.0.1:23793 unreachable" in status.stdout, status.stdout
        # Plain http is refused before any connection is made.
        plain = sb.ctl(["fleet", "status", "--endpoints", "http://127.0.0.1:23791", "--cacert", cluster.ca.cert,
                        "--cert", cluster.identity("web-1")[0], "--key", cluster.identity("web-1")[1]])
        assert plain.returncode == 1 and "only https://" in plain.stderr, plain.stderr

        # The fleet verbs run in lockboxctl-fleet; lockboxctl itself loads no
        # gRPC (lockboxctl/fleet_verbs.h), and says so when the helper is missing.
        ldd = subprocess.run(["ldd", fx.build_path("lockboxctl/lockboxctl")], capture_output=True, text=True)
        assert ldd.returncode == 0 and "libgrpc" not in ldd.stdout and "libprotobuf" not in ldd.stdout, ldd.stdout
        cert, key = cluster.identity("web-1")
        missing = subprocess.run([fx.build_path("lockboxctl/lockboxctl"), "--config", sb.config_path, "fleet",
                                  "status", "--endpoints", cluster.endpoints[0], "--cacert", cluster.ca.cert,
                                  "--cert", cert, "--key", key], capture_output=True, text=True, timeout=30,
                                 env=dict(os.environ, LOCKBOX_LIBEXEC_DIR="/nonexistent"))
        assert missing.returncode == 1, (missing.returncode, missing.stderr)
        assert "cannot run /nonexistent/lockboxctl-fleet, which runs the fleet verbs" in missing.stderr, missing.stderr
    fx.log("PASS")


if __name__ == "__main__":
    main()

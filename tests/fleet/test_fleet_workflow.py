#!/usr/bin/env python3
"""The shared workflow and the signer election (docs/fleet.md), on a real
3-member etcd cluster with TLS and auth.

Two workflow instances (wf1, wf2) and two signers (approval, the active one,
and approval2, its standby), each an approval service on a bus of its own. A
request filed on wf1, approved by the manager on wf2 and by the approver on wf1,
is signed once by the active signer and published. Two approvers approving the
same request at the same moment on wf1 and wf2: exactly one wins, the other is
told it lost. The final approval and a revocation made on the active signer's
own bus are signed and published in their own transaction. Whoever writes the store past the workflow (here the workflow's
own etcd identity) cannot get a self-approved request signed. A revocation on
a workflow instance is signed and published. The active signer is killed
(SIGKILL, no resignation): the standby takes over when its lease lapses and
signs the next approval. No request ever carries two tokens: every grant key
was written exactly once, with the token its request holds.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc
from etcd_cluster import have_etcd
from lockbox_fleet import SIGNER_CONF, on_signer, prepare, setup_instance, setup_signer, start_signer

lf.enter_namespace()
if not have_etcd():
    lf.log("etcd or etcdctl missing (tools/deps.sh installs etcd-server, etcd-client); skipping")
    sys.exit(lf.SKIP)

SECOND_APPROVER = "ana"
PREFIX = f"/lockbox/{sc.TENANT}/"


def etcd_get(cluster, key, identity="root", prefix=False):
    """{key: (value, version, mod_revision, lease)} of key (or every key under it)."""
    args = ["get", key, "-w", "json"] + (["--prefix"] if prefix else [])
    out = json.loads(cluster.etcdctl(args, identity=identity).stdout)
    found = {}
    for kv in out.get("kvs", []):
        found[base64.b64decode(kv["key"]).decode()] = (base64.b64decode(kv["value"]).decode(), kv["version"],
                                                       kv["mod_revision"], kv.get("lease", 0))
    return found


def show(sb, bus, conf, rid):
    r = on_signer(sb, bus, ["request", "show", rid, "--json"], sc.MANAGER, conf)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def file_request(sb, bus, conf, key_pub, engineer, ticket):
    r = on_signer(sb, bus, ["request", "create", "--tenant", sc.TENANT, "--ticket", ticket, "--host", "db01",
                            "--duration", "10m", "--reason", "workflow test", "--ssh-key", key_pub,
                            "--engineer", engineer], sc.CREATOR, conf)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_signed(cluster, rid, timeout=20):
    lf.wait_until(lambda: PREFIX + "issued/grants/" + rid in etcd_get(cluster, PREFIX + "issued/grants/" + rid),
                  timeout, interval=0.05, what=f"grant {rid} signed and published")


def race(sb, w1, w2, rid):
    """APPROVER on instance w1 and SECOND_APPROVER on w2 (bus, config) approve rid at once."""
    results = {}
    go = threading.Barrier(2)

    def approve(who, bus, conf):
        argv = sb._as_user(["lockboxctl", "--config", conf, "request", "approve", rid], who)
        go.wait()
        results[who] = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                      env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus))
    threads = [threading.Thread(target=approve, args=(sc.APPROVER, *w1)),
               threading.Thread(target=approve, args=(SECOND_APPROVER, *w2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def main():
    with e2e.E2ESandbox() as sb:
        cluster = prepare(sb, (), signers=("approval2",), workflows=("wf1", "wf2"))
        sb.add_user(SECOND_APPROVER, 2804, groups=["lockbox-approvers"])
        policy = {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s", "KillGrace": "1s"}
        a_bus, signer_a = setup_signer(sb, cluster, policy, with_daemon=True)
        lf.wait_until(lambda: "is the tenant's active signer" in signer_a.log_text(), 15,
                      what="the first signer to win the election")
        _, _, signer_b = setup_instance(sb, cluster, policy, "approval2", "signer")
        w1_bus, w1_conf, _ = setup_instance(sb, cluster, policy, "wf1", "workflow")
        w2_bus, w2_conf, _ = setup_instance(sb, cluster, policy, "wf2", "workflow")
        w1, w2 = (w1_bus, w1_conf), (w2_bus, w2_conf)
        key = sb.make_ssh_key("eve") + ".pub"
        time.sleep(1.5)  # the standby has campaigned at least once
        assert "is the tenant's active signer" not in signer_b.log_text(), signer_b.log_text()

        # 1. Filed on wf1, approved on wf2 and wf1, signed once by the active signer.
        rid = file_request(sb, *w1, key, "eve", "INC-4001")
        r = on_signer(sb, w2_bus, ["request", "approve", rid], sc.MANAGER, w2_conf)
        assert r.returncode == 0, r.stderr
        assert show(sb, *w1, rid)["state"] == "pending-approver"
        r = on_signer(sb, w1_bus, ["request", "approve", rid], sc.APPROVER, w1_conf)
        assert r.returncode == 0, r.stderr
        approved_at = time.monotonic()
        wait_signed(cluster, rid)
        print(f"final approval on wf1 -> grant signed and in issued/: {(time.monotonic() - approved_at) * 1000:.0f} ms")
        shown = show(sb, *w2, rid)
        assert shown["state"] in ("approved", "active") and shown["jti"] == rid, shown
        r = on_signer(sb, w2_bus, ["grant", "export", rid], sc.MANAGER, w2_conf)
        assert r.returncode == 0, r.stderr
        published = etcd_get(cluster, PREFIX + "issued/grants/" + rid)[PREFIX + "issued/grants/" + rid][0]
        assert r.stdout.strip() == published, "the exported token is not the published one"
        assert f"signed and published grant {rid}" in signer_a.log_text()

        # 1b. The final approval on the active signer's own bus is signed in the
        # approval's transaction: when lockboxctl returns, the grant is in
        # issued/ already, written at the very revision of the approved record.
        signer = (a_bus, SIGNER_CONF)
        rid_inline = file_request(sb, *signer, key, "eve", "INC-4002")
        r = on_signer(sb, w1_bus, ["request", "approve", rid_inline], sc.MANAGER, w1_conf)
        assert r.returncode == 0, r.stderr
        r = on_signer(sb, a_bus, ["request", "approve", rid_inline], sc.APPROVER)
        assert r.returncode == 0, r.stderr
        grant_kv = etcd_get(cluster, PREFIX + "issued/grants/" + rid_inline).get(PREFIX + "issued/grants/" + rid_inline)
        request_kv = etcd_get(cluster, PREFIX + "requests/" + rid_inline)[PREFIX + "requests/" + rid_inline]
        assert grant_kv is not None, "the final approval on the active signer returned before its grant was published"
        assert grant_kv[2] == request_kv[2], ("not one transaction", grant_kv[2], request_kv[2])
        assert json.loads(request_kv[0])["token"] == grant_kv[0]
        # The same for a revocation made there.
        r = on_signer(sb, a_bus, ["grant", "revoke", rid_inline, "--reason", "inline test"], sc.APPROVER)
        assert r.returncode == 0, r.stderr
        revocation_kv = etcd_get(cluster, PREFIX + "issued/revocations/" + rid_inline).get(
            PREFIX + "issued/revocations/" + rid_inline)
        request_kv = etcd_get(cluster, PREFIX + "requests/" + rid_inline)[PREFIX + "requests/" + rid_inline]
        assert revocation_kv is not None and revocation_kv[2] == request_kv[2], (revocation_kv, request_kv[2])
        print("final approval and revocation on the active signer: each published in its own transaction")

        # 2. Two approvers at once on two instances: exactly one wins. Every
        # other race has one of them on the active signer, whose attempt to
        # sign inline loses like any other write and then falls back.
        conflicts = 0
        for i in range(6):
            rid_race = file_request(sb, *w1, key, "fred", f"INC-41{i:02d}")
            r = on_signer(sb, w1_bus, ["request", "approve", rid_race], sc.MANAGER, w1_conf)
            assert r.returncode == 0, r.stderr
            results = race(sb, signer if i % 2 else w1, w2, rid_race)
            winners = [who for who, res in results.items() if res.returncode == 0]
            assert len(winners) == 1, {w: (res.returncode, res.stderr) for w, res in results.items()}
            loser = results[sc.APPROVER if winners[0] == SECOND_APPROVER else SECOND_APPROVER]
            assert ("changed by another approval service" in loser.stderr or "cannot approve" in loser.stderr), \
                loser.stderr
            conflicts += "changed by another approval service" in loser.stderr
            approvals = [a for a in show(sb, *w2, rid_race)["approvals"] if a["role"] == "approver"]
            assert [a["user"] for a in approvals] == winners, approvals
            wait_signed(cluster, rid_race)
        print(f"6 races of two approvers: one winner each; the loser got conflict {conflicts} times, "
              f"invalid-state {6 - conflicts} times")

        # 3. The store written past the workflow: a manager approving as approver
        # too. The workflow's own identity may write requests/; the signer refuses.
        record = json.loads(etcd_get(cluster, PREFIX + "requests/" + rid)[PREFIX + "requests/" + rid][0])
        forged = dict(record, id=str(uuid.uuid4()), token="", state="approved", ticket="INC-4999")
        forged["approver"] = dict(forged["approver"], user=forged["manager"]["user"])
        cluster.etcdctl(["put", PREFIX + "requests/" + forged["id"], json.dumps(forged)], identity="wf1")
        lf.wait_until(lambda: f"refuses to sign request {forged['id']}" in signer_a.log_text(), 10,
                      what="the signer to refuse the forged request")
        assert not etcd_get(cluster, PREFIX + "issued/grants/" + forged["id"]), "a forged approval was signed"
        # The workflow's identity cannot publish a grant itself.
        r = cluster.etcdctl(["put", PREFIX + "issued/grants/" + forged["id"], "x"], identity="wf1", check=False)
        assert r.returncode != 0 and "permission denied" in r.stderr, (r.returncode, r.stderr)

        # 4. A revocation on a workflow instance is signed and published.
        r = on_signer(sb, w2_bus, ["grant", "revoke", rid, "--reason", "workflow test"], sc.APPROVER, w2_conf)
        assert r.returncode == 0, r.stderr
        lf.wait_until(lambda: etcd_get(cluster, PREFIX + "issued/revocations/" + rid), 10, interval=0.05,
                      what="the revocation published")

        # fleet status on a workflow instance names the active signer.
        r = on_signer(sb, w1_bus, ["fleet", "status", "--json"], "root", w1_conf)
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["mode"] == "workflow" and st["signer"]["active"].startswith("approval/"), st
        # The forged record of step 3 stays approved and unsigned, in plain view.
        assert st["signer"]["awaiting_signature"] == 1, st

        # 5. The active signer dies without resigning; the standby signs the next one.
        killed_at = time.monotonic()
        signer_a.proc.kill()
        signer_a.proc.wait(timeout=10)
        rid3 = file_request(sb, *w2, key, "gina", "INC-4200")
        for who, (bus, conf) in ((sc.MANAGER, w1), (sc.APPROVER, w2)):
            r = on_signer(sb, bus, ["request", "approve", rid3], who, conf)
            assert r.returncode == 0, r.stderr
        wait_signed(cluster, rid3, timeout=30)
        print(f"active signer killed -> the standby signed the next approval: "
              f"{(time.monotonic() - killed_at) * 1000:.0f} ms (lease TTL 5 s)")
        assert f"signed and published grant {rid3}" in signer_b.log_text(), signer_b.log_text()

        # 5b. A signer frozen past its lease (SIGSTOP: what an attacker with
        # the machine, or a long GC pause, does) wakes up believing it is
        # active, with an approval in its queue that nobody has signed yet.
        # The restarted first signer takes over meanwhile; the frozen one's
        # signature is fenced off: every grant is still written once.
        signer_a = start_signer(sb, a_bus)
        lf.wait_until(lambda: "campaigning" in signer_a.log_text(), 10, what="the first signer back, as a standby")
        os.kill(signer_b.proc.pid, signal.SIGSTOP)
        try:
            rid4 = file_request(sb, *w1, key, "hal", "INC-4300")
            for who, (bus, conf) in ((sc.MANAGER, w2), (sc.APPROVER, w1)):
                r = on_signer(sb, bus, ["request", "approve", rid4], who, conf)
                assert r.returncode == 0, r.stderr
            wait_signed(cluster, rid4, timeout=30)  # by the first signer, once the frozen one's lease lapsed
        finally:
            os.kill(signer_b.proc.pid, signal.SIGCONT)
        try:
            lf.wait_until(lambda: "lost its lease" in signer_b.log_text() or "no longer holds" in signer_b.log_text(),
                          10, what="the frozen signer to step down")
        except TimeoutError:
            raise AssertionError("the frozen signer did not step down:\n" + signer_b.log_text()[-3000:])
        assert f"signed and published grant {rid4}" in signer_a.log_text(), signer_a.log_text()
        assert f"signed and published grant {rid4}" not in signer_b.log_text(), signer_b.log_text()
        tried = f"grant {rid4} not written" in signer_b.log_text()
        print("a signer frozen past its lease: the other signed, the frozen one stepped down and wrote nothing "
              f"({'it tried and was fenced off' if tried else 'it stepped down before trying'})")

        # 6. Never two tokens for one request.
        requests = etcd_get(cluster, PREFIX + "requests/", prefix=True)
        grants = etcd_get(cluster, PREFIX + "issued/grants/", prefix=True)
        signed = 0
        for k, (value, *_) in requests.items():
            rec = json.loads(value)
            g = grants.get(PREFIX + "issued/grants/" + rec["id"])
            if rec["token"]:
                signed += 1
                assert g and g[0] == rec["token"] and g[1] == 1, (rec["id"], g)
            else:
                assert g is None, rec["id"]
        assert signed == 10, signed
        print(f"{signed} grants, each written once with its request's token")

        # 7. Retention of issued/: each record lives until exp + MaxGrant +
        # ClockSkew on a lease of its own (10 min grants, MaxGrant 4 h, skew 2 s).
        for key, (_, _, _, lease) in list(grants.items()) + list(
                etcd_get(cluster, PREFIX + "issued/revocations/", prefix=True).items()):
            assert lease, f"{key} has no lease: it would stay forever"
            ttl = json.loads(cluster.etcdctl(["lease", "timetolive", format(lease, "x"), "-w", "json"]).stdout)["ttl"]
            assert 4 * 3600 + 2 < ttl <= 4 * 3600 + 600 + 2, (key, ttl)
    lf.log("PASS")


if __name__ == "__main__":
    main()

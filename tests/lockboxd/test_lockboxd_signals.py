#!/usr/bin/env python3
"""Grants arriving from the approval service: a resync at start-up, on
GrantIssued from the current owner of org.lockbox.Approval1, and when the
service reappears; forged signals from a non-owner (broadcast and unicast) are
ignored; GrantRevoked is confirmed with GetHostGrants before the kill.

The approval service is tests/lockboxd/fake_approval_service (owns the name,
answers GetHostGrants from a directory, emits signals on request), so the test
does not depend on lockbox-approvald's workflow."""
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402


class FakeApproval:
    def __init__(self, sb, directory):
        self.dir = directory
        self.log = os.path.join(sb.dir, f"fake-approval-{uuid.uuid4().hex[:6]}.out")
        self.out = open(self.log, "w")
        self.proc = sb.spawn([lf.build_path("tests/lockboxd/fake_approval_service"), "--dir", directory],
                             stdin=subprocess.PIPE, stdout=self.out, stderr=subprocess.STDOUT, text=True)
        lf.wait_until(lambda: "ready" in self.text() or self.proc.poll() is not None, 10, what="fake approval")
        if self.proc.poll() is not None:
            raise RuntimeError(f"fake approval service failed: {self.text()}")

    def text(self):
        with open(self.log) as f:
            return f.read()

    def calls(self):
        return self.text().count("GetHostGrants")

    def emit(self, what, jti):
        self.proc.stdin.write(f"{what} {jti}\n")
        self.proc.stdin.flush()
        lf.wait_until(lambda: f"emitted {jti}" in self.text(), 10, what="signal emitted")

    def add_token(self, jti, token):
        with open(os.path.join(self.dir, f"{jti}.token"), "w") as f:
            f.write(token + "\n")

    def revoke(self, jti):
        with open(os.path.join(self.dir, "revoked"), "a") as f:
            f.write(jti + "\n")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def forge(sb, member, jti):
    r = subprocess.run([lf.build_path("tests/lockboxd/fake_approval_service"), "--forge", member, jti],
                       capture_output=True, text=True, timeout=30)
    t.expect(r.returncode == 0, f"forge failed: {r.stderr}")


def state_of(sb, jti):
    g = t.grants(sb).get(jti)
    return g["state"] if g else None


def main(sb, uids):
    t.setup_world(sb)
    store = os.path.join(sb.dir, "approval-store")
    os.makedirs(store)
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    fake = FakeApproval(sb, store)
    fake.add_token(a, t.make_grant(sb, "enga", jti=a, exp=600))
    d = t.start_lockboxd(sb)

    # Start-up resync.
    lf.wait_until(lambda: state_of(sb, a) == "active", 15, what="grant A from the start-up resync")
    uid_a = t.uid_of(sb, a)
    uids.append(uid_a)
    t.expect(fake.calls() == 1, f"expected one GetHostGrants, saw {fake.calls()}")

    # Forged signals from a connection that does not own the name: ignored.
    fake.add_token(b, t.make_grant(sb, "engb", jti=b, exp=600))
    forge(sb, "GrantIssued", b)
    forge(sb, "GrantRevoked", a)
    # The genuine signal comes after the forged ones on the same bus; once it
    # has been acted on, any reaction to the forgeries would have shown.
    fake.emit("issued", b)
    lf.wait_until(lambda: state_of(sb, b) == "active", 15, what="grant B after GrantIssued")
    uids.append(t.uid_of(sb, b))
    t.expect(fake.calls() == 2, f"forged signals triggered calls: {fake.calls()} GetHostGrants")
    t.expect(state_of(sb, a) == "active", "a forged GrantRevoked had an effect")
    # The forgeries reached lockboxd (the bus did not filter them) and were refused there.
    log = d.log_text()
    t.expect("ignoring GrantIssued" in log and "ignoring GrantRevoked" in log, f"lockboxd log: {log}")

    # Revocation: GrantRevoked, confirmed by GetHostGrants, kills at once.
    t.spawn_tree(sb, uid_a)
    fake.revoke(a)
    fake.emit("revoked", a)
    t.wait_gone(uid_a, timeout=20)
    t.expect(state_of(sb, a) == "revoked", f"A is {state_of(sb, a)}")
    t.expect(fake.calls() == 3, f"expected 3 GetHostGrants, saw {fake.calls()}")

    # The approval service goes away and comes back: resync without a signal.
    fake.stop()
    fake2 = FakeApproval(sb, store)
    fake2.add_token(c, t.make_grant(sb, "engc", jti=c, exp=600))
    fake2.stop()
    fake3 = FakeApproval(sb, store)
    lf.wait_until(lambda: state_of(sb, c) == "active", 15, what="grant C after the service reappeared")
    uids.append(t.uid_of(sb, c))
    # A stays revoked even though the store still lists it as revoked only.
    t.expect(state_of(sb, a) == "revoked", "A came back")
    t.expect(fake3.calls() >= 1, "no resync on reappearance")


if __name__ == "__main__":
    t.run(main)

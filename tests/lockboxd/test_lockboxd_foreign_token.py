#!/usr/bin/env python3
"""A grant made by another PASETO implementation, as a peer issuer would make it
(issue 12): foreign_paseto.py, proven first against the official vectors, signs
with the key `lockboxctl key generate` wrote, and lockboxd verifies.

1. nbf backdated a minute before iat (issuers do this for clock skew; Teleport
   starts certificates a minute early): installed, active, access allowed, the
   claims read back as signed.
2. nbf backdated so far that exp - nbf exceeds MaxGrant (1h here), though
   exp - iat does not: refused as window-too-long, saying the backdating counts.
3. The same signer with a key this host does not trust: refused as unknown-key,
   so step 1 passed because the signature verified, not in spite of it."""
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foreign_paseto as fp  # noqa: E402
import lockbox_fixture as lf  # noqa: E402
import lockboxd_test_support as t  # noqa: E402

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl peer@issuer"


def rfc3339(secs):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


def peer_token(seed, sub, iat, nbf, exp):
    jti = str(uuid.uuid4())
    claims = {"iss": "peer-issuer.example", "sub": sub, "aud": "contoso", "jti": jti,
              "iat": rfc3339(iat), "nbf": rfc3339(nbf), "exp": rfc3339(exp), "hosts": ["db01"],
              "ticket": "INC-12", "reason": "peer issuer interop",
              "ssh_keys": [SSH_KEY],
              "approved_by": [{"role": "approver", "user": "alice", "at": rfc3339(iat)}]}
    footer = json.dumps({"kid": fp.k4_pid(fp.public_key_of(seed))}, separators=(",", ":"))
    return jti, fp.sign_v4_public(seed, json.dumps(claims).encode("utf-8"), footer.encode("utf-8"))


def main(sb, uids):
    signed, pids = fp.prove_against_vectors(lf.source_path("tests/vectors/paseto"))
    print(f"foreign signer reproduces {signed} v4.public and {pids} k4.pid vectors")
    t.setup_world(sb)
    with open(sb.keys["signing"]["secret"], encoding="ascii") as f:
        seed = fp.seed_from_k4_secret(f.read())
    t.expect(fp.k4_pid(fp.public_key_of(seed)) == sb.keys["signing"]["kid"],
             "the foreign k4.pid differs from lockboxctl's")
    t.start_lockboxd(sb)
    now = int(time.time())

    # 1. nbf a minute before iat.
    jti, token = peer_token(seed, "peereng", iat=now, nbf=now - 60, exp=now + 600)
    r = t.import_grant(sb, token)
    t.expect(r.stdout.strip() == jti, f"import printed {r.stdout!r}, expected {jti}")
    uids.append(t.uid_of(sb, jti))
    g = t.grants(sb)[jti]
    t.expect(g["iat"] == rfc3339(now) and g["nbf"] == rfc3339(now - 60) and g["exp"] == rfc3339(now + 600), g)
    lf.wait_until(lambda: t.grants(sb)[jti]["state"] == "active", 15, what="the backdated grant to be active")
    allowed, reason = t.check_access(sb, "peereng")
    t.expect(allowed, f"access refused: {reason}")

    # 2. Backdated past MaxGrant: exp - iat = 59m, exp - nbf = 1h1m.
    jti_long, token = peer_token(seed, "peerlong", iat=now, nbf=now - 120, exp=now + 3540)
    r = t.import_grant(sb, token, check=False)
    t.expect(r.returncode != 0, f"a window of 1h1m was imported under MaxGrant=1h: {r.stdout}")
    t.expect("window-too-long" in r.stderr and "backdated 2m" in r.stderr, r.stderr)
    t.expect(jti_long not in t.grants(sb), "the refused grant is listed")

    # 3. A key this host does not trust.
    _, token = peer_token(os.urandom(32), "peerother", iat=now, nbf=now - 60, exp=now + 600)
    r = t.import_grant(sb, token, check=False)
    t.expect(r.returncode != 0 and "unknown-key" in r.stderr, f"untrusted key: {r.returncode} {r.stderr}")


if __name__ == "__main__":
    t.run(main)

"""A PASETO v4.public signer and PASERK k4 reader written from the specifications
(paseto-standard/paseto-spec, paserk), sharing no code with Lockbox: Ed25519 from
PyNaCl (Debian python3-nacl), BLAKE2b from hashlib, base64 from the standard
library. Tokens it makes stand for those of a peer issuer. prove_against_vectors()
checks it against the official vectors before a test trusts anything it signs."""
import base64
import hashlib
import json
import struct

from nacl.signing import SigningKey

V4_PUBLIC = b"v4.public."


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pae(*pieces):
    """Pre-authentication encoding: the count, then each piece after its length,
    every length a little-endian 64-bit integer with the top bit cleared."""
    out = struct.pack("<Q", len(pieces) & 0x7FFF_FFFF_FFFF_FFFF)
    for piece in pieces:
        out += struct.pack("<Q", len(piece) & 0x7FFF_FFFF_FFFF_FFFF) + piece
    return out


def sign_v4_public(seed, message, footer=b"", implicit=b""):
    signature = SigningKey(seed).sign(pae(V4_PUBLIC, message, footer, implicit)).signature
    token = V4_PUBLIC.decode("ascii") + b64url(message + signature)
    return token + "." + b64url(footer) if footer else token


def public_key_of(seed):
    return bytes(SigningKey(seed).verify_key)


def k4_pid(public_key):
    """k4.pid: BLAKE2b-264 over the header and the PASERK of the public key."""
    header = b"k4.pid."
    paserk = ("k4.public." + b64url(public_key)).encode("ascii")
    return header.decode("ascii") + b64url(hashlib.blake2b(header + paserk, digest_size=33).digest())


def seed_from_k4_secret(text):
    """k4.secret. + base64url(seed || public key); the public half must match."""
    text = text.strip()
    if not text.startswith("k4.secret."):
        raise ValueError("not a k4.secret key")
    raw = b64url_decode(text[len("k4.secret."):])
    if len(raw) != 64 or public_key_of(raw[:32]) != raw[32:]:
        raise ValueError("k4.secret key is not seed || matching public key")
    return raw[:32]


def prove_against_vectors(vector_dir):
    """Raises unless every official v4.public and k4.pid vector comes out exactly
    (Ed25519 is deterministic, so signing must reproduce each token byte for byte)."""
    with open(f"{vector_dir}/v4.json", encoding="utf-8") as f:
        tests = json.load(f)["tests"]
    signed = 0
    for t in tests:
        if t["expect-fail"] or not t["token"].startswith("v4.public."):
            continue
        seed = bytes.fromhex(t["secret-key-seed"])
        if public_key_of(seed).hex() != t["public-key"]:
            raise AssertionError(f"{t['name']}: public key differs")
        token = sign_v4_public(seed, t["payload"].encode("utf-8"), t["footer"].encode("utf-8"),
                               t["implicit-assertion"].encode("utf-8"))
        if token != t["token"]:
            raise AssertionError(f"{t['name']}: signer made {token}, vector is {t['token']}")
        signed += 1
    with open(f"{vector_dir}/k4.pid.json", encoding="utf-8") as f:
        pids = [t for t in json.load(f)["tests"] if not t["expect-fail"]]
    for t in pids:
        if k4_pid(bytes.fromhex(t["key"])) != t["paserk"]:
            raise AssertionError(f"{t['name']}: k4.pid differs")
    if signed < 3 or not pids:
        raise AssertionError(f"only {signed} v4.public and {len(pids)} k4.pid vectors found in {vector_dir}")
    return signed, len(pids)

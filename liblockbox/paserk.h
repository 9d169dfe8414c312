// PASERK k4 keys (https://github.com/paseto-standard/paserk): k4.public (32-byte
// Ed25519 public key), k4.secret (64-byte Ed25519 secret key, seed || public) and
// k4.pid (the key id of a k4.public key: "k4.pid." + b64url(BLAKE2b-264 of
// "k4.pid." || "k4.public." + b64url(key))).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"
#include "secret_bytes.h"

namespace lockbox {

struct PublicKey {
    std::array<uint8_t, 32> bytes{};
    bool operator==(const PublicKey&) const = default;
};

struct SecretKey {
    SecretBytes<64> bytes;         // libsodium layout: seed || public key
    PublicKey public_key() const;  // the last 32 bytes
};

std::string paserk_public(const PublicKey& key);  // "k4.public.…"
std::string paserk_secret(const SecretKey& key);  // "k4.secret.…" (caller wipes)
std::string paserk_pid(const PublicKey& key);     // "k4.pid.…"

// Strict decoders: exact prefix, canonical unpadded base64url, exact length, and
// for secret keys the embedded public half must match the seed.
Result<PublicKey> parse_paserk_public(std::string_view text);
Result<SecretKey> parse_paserk_secret(std::string_view text);

SecretKey generate_secret_key();

// Raw key bytes (e.g. from test vectors) with the same checks as the decoders:
// exact length, and for secret keys a public half that matches the seed.
Result<PublicKey> public_key_from_bytes(const uint8_t* data, size_t len);
Result<SecretKey> secret_key_from_bytes(const uint8_t* data, size_t len);

// sodium_init() exactly once per process; aborts if libsodium cannot start
// (no usable randomness), because nothing here is safe without it. The
// functions here and in paseto.h that need libsodium call it; callers may too.
void ensure_sodium_initialized();

}  // namespace lockbox

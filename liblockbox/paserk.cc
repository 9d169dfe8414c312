#include "paserk.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include <sodium.h>

#include "base64url.h"

namespace lockbox {
namespace {

constexpr std::string_view PUBLIC_PREFIX = "k4.public.";
constexpr std::string_view SECRET_PREFIX = "k4.secret.";
constexpr std::string_view PID_PREFIX = "k4.pid.";
constexpr size_t PID_HASH_BYTES = 33;  // BLAKE2b-264, PASERK "ID" operation

// Secret bytes decoded from text live in a vector; wipe it before it is freed.
struct WipeOnExit {
    std::vector<uint8_t>& v;
    ~WipeOnExit() { sodium_memzero(v.data(), v.size()); }
};

}  // namespace

void ensure_sodium_initialized() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        std::abort();
}

PublicKey SecretKey::public_key() const {
    PublicKey pk;
    std::memcpy(pk.bytes.data(), bytes.data() + 32, 32);
    return pk;
}

std::string paserk_public(const PublicKey& key) {
    return std::string(PUBLIC_PREFIX) + base64url_encode(key.bytes.data(), key.bytes.size());
}

std::string paserk_secret(const SecretKey& key) {
    return std::string(SECRET_PREFIX) + base64url_encode(key.bytes.data(), key.bytes.size());
}

std::string paserk_pid(const PublicKey& key) {
    ensure_sodium_initialized();
    const std::string input = std::string(PID_PREFIX) + paserk_public(key);
    uint8_t hash[PID_HASH_BYTES];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(input.data()), input.size(), nullptr,
                       0);
    return std::string(PID_PREFIX) + base64url_encode(hash, sizeof hash);
}

Result<PublicKey> public_key_from_bytes(const uint8_t* data, size_t len) {
    PublicKey pk;
    if (len != pk.bytes.size())
        return make_error(Errc::Malformed, "an Ed25519 public key is 32 bytes, not " + std::to_string(len));
    std::memcpy(pk.bytes.data(), data, len);
    return pk;
}

Result<SecretKey> secret_key_from_bytes(const uint8_t* data, size_t len) {
    ensure_sodium_initialized();
    SecretKey sk;
    if (len != sk.bytes.size())
        return make_error(Errc::Malformed, "an Ed25519 secret key is 64 bytes, not " + std::to_string(len));
    // Recompute the public half from the seed: a key whose halves disagree would
    // sign with one identity while claiming another kid.
    SecretBytes<32> expected_public;
    SecretBytes<64> recomputed;
    crypto_sign_seed_keypair(expected_public.data(), recomputed.data(), data);
    if (sodium_memcmp(expected_public.data(), data + 32, 32) != 0)
        return make_error(Errc::Malformed, "the secret key's public half does not match its seed");
    std::memcpy(sk.bytes.data(), data, len);
    return sk;
}

Result<PublicKey> parse_paserk_public(std::string_view text) {
    if (text.substr(0, PUBLIC_PREFIX.size()) != PUBLIC_PREFIX)
        return make_error(Errc::Malformed, "not a k4.public PASERK key");
    auto raw = base64url_decode(text.substr(PUBLIC_PREFIX.size()));
    if (!raw)
        return make_error(Errc::Malformed, "k4.public key: " + raw.error().message);
    return public_key_from_bytes(raw->data(), raw->size());
}

Result<SecretKey> parse_paserk_secret(std::string_view text) {
    if (text.substr(0, SECRET_PREFIX.size()) != SECRET_PREFIX)
        return make_error(Errc::Malformed, "not a k4.secret PASERK key");
    auto raw = base64url_decode(text.substr(SECRET_PREFIX.size()));
    if (!raw)
        return make_error(Errc::Malformed, "k4.secret key: " + raw.error().message);
    WipeOnExit wipe{*raw};
    return secret_key_from_bytes(raw->data(), raw->size());
}

SecretKey generate_secret_key() {
    ensure_sodium_initialized();
    SecretKey sk;
    PublicKey pk;
    crypto_sign_keypair(pk.bytes.data(), sk.bytes.data());
    return sk;
}

}  // namespace lockbox

// libFuzzer target for everything a token from the network meets before it is
// trusted: the PASETO parser and signature check, the claims parser, and the
// whole GrantVerifier. Inputs are token text; the first byte also selects a
// claims-only run so the JSON parser is reached without a valid signature.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "grant_claims.h"
#include "grant_verifier.h"
#include "paseto.h"

namespace {

struct Setup {
    lockbox::SecretKey key = lockbox::generate_secret_key();
    lockbox::FakeClock clock{1795982400LL * lockbox::USEC_PER_SEC};
    lockbox::GrantVerifier verifier;

    Setup()
        : verifier(trusted(key), {"contoso", "db01", 4 * 3600 * lockbox::USEC_PER_SEC, 30 * lockbox::USEC_PER_SEC},
                   clock) {}
    static lockbox::TrustedKeys trusted(const lockbox::SecretKey& k) {
        lockbox::TrustedKeys keys;
        keys.by_kid.emplace(lockbox::paserk_pid(k.public_key()), k.public_key());
        return keys;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Setup setup;
    std::string_view input(reinterpret_cast<const char*>(data), size);

    (void)lockbox::paseto_v4_untrusted_footer(input);
    (void)lockbox::paseto_v4_verify(setup.key.public_key(), input);
    (void)setup.verifier.verify(input, [](const std::string&) { return false; });
    (void)setup.verifier.verify_ignoring_time(input);

    auto claims = lockbox::parse_grant_claims(input);
    if (claims.ok()) {
        // Whatever parses must serialize and parse back to the same claims.
        auto again = lockbox::parse_grant_claims(lockbox::grant_claims_to_json(*claims));
        if (!again.ok() || !(*again == *claims))
            __builtin_trap();
        // ...and a grant signed over it must verify with the same claims.
        auto check = setup.verifier.verify_ignoring_time(lockbox::sign_grant(setup.key, *claims));
        if (check.verdict != lockbox::GrantVerdict::Malformed && check.verdict != lockbox::GrantVerdict::BadSignature &&
            !(check.claims == *claims))
            __builtin_trap();
    }
    return 0;
}

// A signed revocation (docs/tokens.md, "Revocation tokens"): in a fleet, the
// signer publishes one per revoked grant, and a host kills only on a revocation
// that a trusted key signed, so whoever controls the store can neither fake one
// nor alter one. PASETO v4.public like a grant, with "typ" set so that neither
// can pass for the other.
#pragma once

#include <string>
#include <string_view>

#include "clock.h"
#include "key_file.h"
#include "paserk.h"
#include "result.h"

namespace lockbox {

constexpr std::string_view REVOCATION_TYP = "lockbox-revocation";

struct RevocationClaims {
    std::string aud;  // tenant
    std::string jti;  // the revoked grant
    std::string how;  // "revoked" or "released" (the engineer's own "I'm done")
    std::string by;   // who ended it: a login name
    usec_t iat = 0;
    usec_t exp = 0;  // the grant's exp: after it, the revocation has nothing left to do
};

std::string sign_revocation(const SecretKey& key, const RevocationClaims& claims);

// Signature by a trusted key named in the footer, typ, audience = tenant, a
// well-formed jti. Time is not checked: a revocation of an expired grant is
// harmless, and one arriving late must still count.
Result<RevocationClaims> verify_revocation(const TrustedKeys& keys, std::string_view token, const std::string& tenant);

}  // namespace lockbox

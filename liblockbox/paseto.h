// PASETO v4.public (https://github.com/paseto-standard/paseto-spec): Ed25519 over
// PAE("v4.public.", message, footer, implicit). Nothing else is accepted: no
// other version, no other purpose, no padding, no trailing data.
#pragma once

#include <string>
#include <string_view>

#include "paserk.h"
#include "result.h"

namespace lockbox {

constexpr size_t MAX_TOKEN_LENGTH = 65536;

struct PasetoMessage {
    std::string payload;  // the signed message (JSON for grants)
    std::string footer;   // decoded footer ("" when absent)
};

std::string paseto_v4_sign(const SecretKey& key, std::string_view payload, std::string_view footer = {},
                           std::string_view implicit = {});

// Reads the footer (the kid) before choosing a key, without verifying: checks
// the token's shape and decodes the footer; the body is decoded and checked
// by paseto_v4_verify. Refuses malformed tokens with code "malformed".
Result<std::string> paseto_v4_untrusted_footer(std::string_view token);

// Error codes: "malformed" (shape, encoding, size, wrong version/purpose),
// "bad-signature".
Result<PasetoMessage> paseto_v4_verify(const PublicKey& key, std::string_view token, std::string_view implicit = {});

// The message of a well-formed token WITHOUT checking its signature. Only for
// tokens this host verified itself before storing them where nobody but root
// can write (lockboxd's state at start-up, docs/enforcement.md); never for a
// token from outside.
Result<PasetoMessage> paseto_v4_unverified(std::string_view token);

// Pre-authentication encoding (exposed for tests).
std::string paseto_pae(std::initializer_list<std::string_view> pieces);

}  // namespace lockbox

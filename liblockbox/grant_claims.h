// The grant token's payload (docs/design.md §4) with a validating parser: every claim
// typed and bounded, times RFC 3339 UTC.
#pragma once

#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockbox {

struct Approval {
    std::string role;  // "manager" | "approver"
    std::string user;
    usec_t at = 0;
    bool operator==(const Approval&) const = default;
};

struct GrantClaims {
    std::string iss;
    std::string sub;  // engineer login name
    std::string aud;  // tenant
    std::string jti;  // grant id = request id (UUID)
    usec_t iat = 0, nbf = 0, exp = 0;
    std::vector<std::string> hosts;
    std::string ticket;
    std::string reason;
    std::vector<std::string> ssh_keys;
    std::vector<Approval> approved_by;
    // Optional claim `access`: the access level (access_level.h); empty when
    // the token states none, which the host reads as its least privileged level.
    std::string access;
    bool operator==(const GrantClaims&) const = default;
};

// Upper bounds beyond names.h: the payload as a whole (a token carrying it
// must stay under MAX_TOKEN_LENGTH after base64url) and the approval list.
constexpr size_t MAX_CLAIMS_JSON = 45 * 1024;
constexpr size_t MAX_APPROVALS = 8;

std::string grant_claims_to_json(const GrantClaims& claims);
// Error code "malformed" with a message naming the claim.
Result<GrantClaims> parse_grant_claims(std::string_view json);
// The same checks on claims already in memory, including the size of their
// JSON (an issuer runs this before signing, so it never signs what verifiers
// refuse). Does not know the policy's maximum window; the verifier checks that.
Status validate_grant_claims(const GrantClaims& claims);

}  // namespace lockbox

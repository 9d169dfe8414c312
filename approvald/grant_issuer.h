// Turns a fully approved request into a signed grant (docs/design.md §4). The secret
// key is loaded per signing and wiped when it goes out of scope, so it never
// sits in the daemon's memory between approvals.
#pragma once

#include <string>

#include "config.h"
#include "grant_claims.h"
#include "request.h"
#include "result.h"

namespace lockbox::approval {

// Claims for r (state Approved: nbf/exp set, both stage approvals present).
GrantClaims grant_claims_for(const Request& r, const std::string& issuer);

class GrantIssuer {
public:
    explicit GrantIssuer(const Config& config) : config_(config) {}
    // The PASETO v4.public token; error if the key cannot be loaded.
    Result<std::string> issue(const Request& r) const;

private:
    const Config& config_;
};

}  // namespace lockbox::approval

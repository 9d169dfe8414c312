#include "grant_issuer.h"

#include "grant_verifier.h"
#include "key_file.h"

namespace lockbox::approval {

GrantClaims grant_claims_for(const Request& r, const std::string& issuer) {
    GrantClaims c;
    c.iss = issuer;
    c.sub = r.engineer;
    c.aud = r.tenant;
    c.jti = r.id;
    // Issued at the final approval; nbf is then, or the later start asked for.
    c.iat = r.approver ? r.approver->approval.at : r.nbf;
    c.nbf = r.nbf;
    c.exp = r.exp;
    c.hosts = r.hosts;
    c.ticket = r.ticket;
    c.reason = r.reason;
    c.ssh_keys = r.ssh_keys;
    // Signed even when it is the default, so no host reads it as its own default.
    c.access = r.access;
    for (const auto* stage : {&r.manager, &r.approver})
        if (*stage)
            c.approved_by.push_back((*stage)->approval);
    return c;
}

Result<std::string> GrantIssuer::issue(const Request& r) const {
    if (r.state != RequestState::Approved || !r.manager || !r.approver || r.exp <= r.nbf)
        return make_error(Errc::Internal, "request " + r.id + " is not fully approved");
    auto key = load_secret_key_file(config_.signing_key, expected_key_owner(config_));
    if (!key)
        return make_error(Errc::Internal, "cannot load the signing key: " + key.error().message);
    return sign_grant(*key, grant_claims_for(r, config_.host_name));
}

}  // namespace lockbox::approval

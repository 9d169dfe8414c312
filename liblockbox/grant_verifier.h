// The one decision "is this token a grant this host honours now": signature by a
// trusted key named in the footer, audience, host, window, window length,
// revocation. Answers allow/deny with a machine-readable reason.
#pragma once

#include <functional>
#include <string>

#include "clock.h"
#include "grant_claims.h"
#include "key_file.h"
#include "paserk.h"

namespace lockbox {

enum class GrantVerdict {
    Allow,
    Malformed,
    BadSignature,
    UnknownKey,
    WrongTenant,
    WrongHost,
    NotYetValid,
    Expired,
    WindowTooLong,
    Revoked,
};

// "allow", "malformed", "bad-signature", "unknown-key", "wrong-tenant",
// "wrong-host", "not-yet-valid", "expired", "window-too-long", "revoked".
const char* grant_verdict_name(GrantVerdict v);

struct GrantCheck {
    GrantVerdict verdict = GrantVerdict::Malformed;
    std::string detail;  // human sentence
    GrantClaims claims;  // filled when the signature verified
    std::string kid;
};

struct VerifierPolicy {
    std::string tenant;
    std::string host;
    usec_t max_grant = 0;
    usec_t clock_skew = 0;
    std::vector<std::string> host_groups;  // [Host] Groups=: "@group" targets that cover this host
};

class GrantVerifier {
public:
    GrantVerifier(TrustedKeys keys, VerifierPolicy policy, const Clock& clock);
    // is_revoked(jti) is asked only after the signature verified.
    GrantCheck verify(std::string_view token, const std::function<bool(const std::string&)>& is_revoked = {}) const;
    // Signature, audience, host, window length and revocation only; ignores
    // "now". Used to admit grants whose window has not started yet.
    GrantCheck verify_ignoring_time(std::string_view token,
                                    const std::function<bool(const std::string&)>& is_revoked = {}) const;

    // verify_ignoring_time without the signature check (about 60 us of the
    // ~70 us a token costs): for tokens lockboxd verified itself before it
    // stored them in its root-only state. The key must still be trusted and
    // the tenant, host and window length still hold, so a key withdrawn or a
    // configuration changed while lockboxd was down still drops the grant.
    GrantCheck recheck_stored(std::string_view token) const;

private:
    TrustedKeys keys_;
    VerifierPolicy policy_;
    const Clock& clock_;
};

// The key id of a footer {"kid":"k4.pid.…"} (untrusted until the signature verifies).
Result<std::string> kid_from_footer(const std::string& footer);

// Signs claims with footer {"kid":"k4.pid.…"} of the key's public half.
std::string sign_grant(const SecretKey& key, const GrantClaims& claims);

}  // namespace lockbox

#include "grant_verifier.h"
#include "names.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "base64url.h"
#include "paseto.h"
#include "time_format.h"

namespace lockbox {
namespace {

using nlohmann::json;

// {"kid":"k4.pid.<44 chars>"} is 58 bytes; anything much longer is not ours.
constexpr size_t MAX_FOOTER = 256;
constexpr std::string_view PID_PREFIX = "k4.pid.";

GrantCheck deny(GrantCheck check, GrantVerdict verdict, std::string detail) {
    check.verdict = verdict;
    check.detail = std::move(detail);
    return check;
}

Result<std::string> kid_from_json(const std::string& footer);

Result<std::string> kid_from_json(const std::string& footer) {
    json obj = json::parse(footer, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded() || !obj.is_object() || obj.size() != 1)
        return make_error(Errc::Malformed, "token footer is not a JSON object with exactly one key, kid");
    auto it = obj.find("kid");
    if (it == obj.end() || !it->is_string())
        return make_error(Errc::Malformed, "token footer has no string 'kid'");
    return it->get<std::string>();
}

}  // namespace

Result<std::string> kid_from_footer(const std::string& footer) {
    if (footer.empty())
        return make_error(Errc::Malformed, "token has no footer naming its signing key");
    if (footer.size() > MAX_FOOTER)
        return make_error(Errc::Malformed, "token footer is longer than " + std::to_string(MAX_FOOTER) + " bytes");
    // Fast path for the exact form sign_grant writes; any other spelling of the
    // same JSON takes the general parser below and gets the same checks.
    constexpr std::string_view open = "{\"kid\":\"", close = "\"}";
    std::string kid;
    if (footer.size() == open.size() + PID_PREFIX.size() + 44 + close.size() &&
        footer.compare(0, open.size(), open) == 0 &&
        footer.compare(footer.size() - close.size(), close.size(), close) == 0) {
        kid = footer.substr(open.size(), footer.size() - open.size() - close.size());
    } else {
        auto parsed = kid_from_json(footer);
        if (!parsed)
            return parsed.error();
        kid = std::move(*parsed);
    }
    // The kid ends up in log lines, so it must be a well-formed id before use.
    if (kid.size() != PID_PREFIX.size() + 44 || kid.substr(0, PID_PREFIX.size()) != PID_PREFIX ||
        !base64url_decode(std::string_view(kid).substr(PID_PREFIX.size())))
        return make_error(Errc::Malformed, "token footer 'kid' is not a k4.pid key id");
    return kid;
}

const char* grant_verdict_name(GrantVerdict v) {
    switch (v) {
    case GrantVerdict::Allow:
        return "allow";
    case GrantVerdict::Malformed:
        return "malformed";
    case GrantVerdict::BadSignature:
        return "bad-signature";
    case GrantVerdict::UnknownKey:
        return "unknown-key";
    case GrantVerdict::WrongTenant:
        return "wrong-tenant";
    case GrantVerdict::WrongHost:
        return "wrong-host";
    case GrantVerdict::NotYetValid:
        return "not-yet-valid";
    case GrantVerdict::Expired:
        return "expired";
    case GrantVerdict::WindowTooLong:
        return "window-too-long";
    case GrantVerdict::Revoked:
        return "revoked";
    }
    return "malformed";
}

GrantVerifier::GrantVerifier(TrustedKeys keys, VerifierPolicy policy, const Clock& clock)
    : keys_(std::move(keys)), policy_(std::move(policy)), clock_(clock) {}

namespace {

GrantCheck check_token(const TrustedKeys& keys, const VerifierPolicy& policy, const usec_t* now, std::string_view token,
                       const std::function<bool(const std::string&)>& is_revoked, bool check_signature = true) {
    GrantCheck check;
    if (token.size() > MAX_TOKEN_LENGTH)
        return deny(std::move(check), GrantVerdict::Malformed,
                    "token is longer than " + std::to_string(MAX_TOKEN_LENGTH) + " bytes");
    auto footer = paseto_v4_untrusted_footer(token);
    if (!footer)
        return deny(std::move(check), GrantVerdict::Malformed, footer.error().message);
    auto kid = kid_from_footer(*footer);
    if (!kid)
        return deny(std::move(check), GrantVerdict::Malformed, kid.error().message);
    check.kid = std::move(*kid);
    auto key = keys.by_kid.find(check.kid);
    if (key == keys.by_kid.end())
        return deny(std::move(check), GrantVerdict::UnknownKey,
                    "token is signed by key " + check.kid + ", which is not trusted on this host");
    auto message = check_signature ? paseto_v4_verify(key->second, token) : paseto_v4_unverified(token);
    if (!message) {
        auto verdict =
            message.error().code == Errc::BadSignature ? GrantVerdict::BadSignature : GrantVerdict::Malformed;
        return deny(std::move(check), verdict, message.error().message);
    }
    auto claims = parse_grant_claims(message->payload);
    if (!claims)
        return deny(std::move(check), GrantVerdict::Malformed, claims.error().message);
    check.claims = std::move(*claims);
    const GrantClaims& c = check.claims;
    if (c.aud != policy.tenant)
        return deny(std::move(check), GrantVerdict::WrongTenant,
                    "grant is for tenant '" + c.aud + "', this host belongs to '" + policy.tenant + "'");
    if (!targets_cover_host(c.hosts, policy.host, policy.host_groups))
        return deny(std::move(check), GrantVerdict::WrongHost,
                    "grant lists neither this host '" + policy.host + "' nor a group of it");
    // The window is nbf..exp whatever iat says: time an issuer backdates nbf
    // by counts against MaxGrant like any other.
    if (c.exp - c.nbf > policy.max_grant)
        return deny(std::move(check), GrantVerdict::WindowTooLong,
                    "grant window of " + format_duration(c.exp - c.nbf) + " is longer than the maximum " +
                        format_duration(policy.max_grant) +
                        (c.nbf < c.iat ? " (its 'nbf' is backdated " + format_duration(c.iat - c.nbf) +
                                             " before 'iat', and that counts)"
                                       : ""));
    if (now) {
        if (*now < c.nbf - policy.clock_skew)
            return deny(std::move(check), GrantVerdict::NotYetValid,
                        "grant is valid only from " + format_rfc3339(c.nbf));
        // With iat <= nbf the test above covers this; a backdated nbf must not
        // let a token through that claims to be issued in this host's future.
        if (*now < c.iat - policy.clock_skew)
            return deny(std::move(check), GrantVerdict::NotYetValid,
                        "grant was issued at " + format_rfc3339(c.iat) + ", later than this host's clock allows");
        if (*now >= c.exp + policy.clock_skew)
            return deny(std::move(check), GrantVerdict::Expired, "grant expired at " + format_rfc3339(c.exp));
    }
    if (is_revoked && is_revoked(c.jti))
        return deny(std::move(check), GrantVerdict::Revoked, "grant " + c.jti + " has been revoked");
    check.verdict = GrantVerdict::Allow;
    check.detail = "grant " + c.jti + " for " + c.sub + " is valid until " + format_rfc3339(c.exp);
    return check;
}

}  // namespace

GrantCheck GrantVerifier::verify(std::string_view token,
                                 const std::function<bool(const std::string&)>& is_revoked) const {
    const usec_t now = clock_.now();
    return check_token(keys_, policy_, &now, token, is_revoked);
}

GrantCheck GrantVerifier::verify_ignoring_time(std::string_view token,
                                               const std::function<bool(const std::string&)>& is_revoked) const {
    return check_token(keys_, policy_, nullptr, token, is_revoked);
}

GrantCheck GrantVerifier::recheck_stored(std::string_view token) const {
    return check_token(keys_, policy_, nullptr, token, {}, /*check_signature=*/false);
}

std::string sign_grant(const SecretKey& key, const GrantClaims& claims) {
    const std::string footer = json{{"kid", paserk_pid(key.public_key())}}.dump();
    return paseto_v4_sign(key, grant_claims_to_json(claims), footer);
}

}  // namespace lockbox

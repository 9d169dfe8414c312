#include "revocation_token.h"

#include <nlohmann/json.hpp>

#include "grant_claims.h"
#include "grant_verifier.h"
#include "names.h"
#include "paseto.h"

namespace lockbox {
namespace {

using json = nlohmann::json;

// A revocation is a few hundred bytes; a bound keeps a hostile store's value
// from costing more than a glance.
constexpr size_t MAX_REVOCATION_TOKEN = 2048;

int64_t seconds(usec_t t) { return static_cast<int64_t>(t / USEC_PER_SEC); }

}  // namespace

std::string sign_revocation(const SecretKey& key, const RevocationClaims& c) {
    json payload{{"typ", REVOCATION_TYP}, {"aud", c.aud},         {"jti", c.jti}, {"how", c.how}, {"by", c.by},
                 {"iat", seconds(c.iat)}, {"exp", seconds(c.exp)}};
    const std::string footer = json{{"kid", paserk_pid(key.public_key())}}.dump();
    return paseto_v4_sign(key, payload.dump(), footer);
}

Result<RevocationClaims> verify_revocation(const TrustedKeys& keys, std::string_view token, const std::string& tenant) {
    if (token.size() > MAX_REVOCATION_TOKEN)
        return make_error(Errc::Malformed, "revocation token is longer than 2048 bytes");
    auto footer = paseto_v4_untrusted_footer(token);
    if (!footer)
        return footer.error();
    auto kid = kid_from_footer(*footer);
    if (!kid)
        return kid.error();
    auto key = keys.by_kid.find(*kid);
    if (key == keys.by_kid.end())
        return make_error(Errc::BadSignature, "revocation is signed by key " + *kid + ", which is not trusted here");
    auto message = paseto_v4_verify(key->second, token);
    if (!message)
        return message.error();
    json p = json::parse(message->payload, nullptr, /*allow_exceptions=*/false);
    auto text = [&](const char* k) { return p.is_object() && p.contains(k) && p[k].is_string(); };
    auto number = [&](const char* k) { return p.is_object() && p.contains(k) && p[k].is_number_integer(); };
    if (!text("typ") || p["typ"] != REVOCATION_TYP || !text("aud") || !text("jti") || !text("how") || !text("by") ||
        !number("iat") || !number("exp") || p.size() != 7)
        return make_error(Errc::Malformed, "revocation token: claims are not {typ, aud, jti, how, by, iat, exp}");
    RevocationClaims c;
    c.aud = p["aud"].get<std::string>();
    c.jti = p["jti"].get<std::string>();
    c.how = p["how"].get<std::string>();
    c.by = p["by"].get<std::string>();
    if (c.how != "revoked" && c.how != "released")
        return make_error(Errc::Malformed, "revocation token: 'how' is neither revoked nor released");
    if (!is_valid_user_name(c.by))
        return make_error(Errc::Malformed, "revocation token: 'by' is not a login name");
    int64_t iat = p["iat"].get<int64_t>(), exp = p["exp"].get<int64_t>();
    if (c.aud != tenant)
        return make_error(Errc::GrantRefused, "revocation is for tenant '" + c.aud + "', not '" + tenant + "'");
    if (!is_valid_uuid(c.jti))
        return make_error(Errc::Malformed, "revocation token: jti is not a request id");
    if (iat < 0 || exp < 0)
        return make_error(Errc::Malformed, "revocation token: negative time");
    c.iat = static_cast<usec_t>(iat) * USEC_PER_SEC;
    c.exp = static_cast<usec_t>(exp) * USEC_PER_SEC;
    return c;
}

}  // namespace lockbox

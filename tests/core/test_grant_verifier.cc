#include "core_test.h"
#include "sample_grant.h"

#include "base64url.h"
#include "grant_verifier.h"
#include "paseto.h"
#include "revocation_token.h"

using namespace lockbox;
using core_test::HOUR;
using core_test::T0;

namespace {

constexpr usec_t SKEW = 30 * USEC_PER_SEC;

struct Fixture {
    SecretKey key = generate_secret_key();
    SecretKey stranger = generate_secret_key();
    FakeClock clock{T0 + HOUR};
    GrantVerifier verifier;

    Fixture() : verifier(trusted(key), VerifierPolicy{"contoso", "db01", 4 * HOUR, SKEW}, clock) {}

    static TrustedKeys trusted(const SecretKey& k) {
        TrustedKeys keys;
        keys.by_kid.emplace(paserk_pid(k.public_key()), k.public_key());
        return keys;
    }
    std::string footer() const { return "{\"kid\":\"" + paserk_pid(key.public_key()) + "\"}"; }
};

Fixture* fx;

int setup(void**) {
    fx = new Fixture();
    return 0;
}
int teardown(void**) {
    delete fx;
    return 0;
}

void expect(const GrantCheck& c, GrantVerdict v, const char* why) {
    if (c.verdict != v)
        fail_msg("%s: expected %s, got %s (%s)", why, grant_verdict_name(v), grant_verdict_name(c.verdict),
                 c.detail.c_str());
    assert_false(c.detail.empty());
}

GrantCheck verify_claims(const GrantClaims& c) { return fx->verifier.verify(sign_grant(fx->key, c)); }

void test_allows_valid_grant_and_returns_claims(void**) {
    const GrantClaims c = core_test::sample_claims();
    auto check = verify_claims(c);
    expect(check, GrantVerdict::Allow, "valid grant");
    assert_true(check.claims == c);
    assert_string_equal(check.kid.c_str(), paserk_pid(fx->key.public_key()).c_str());
}

void test_rejects_garbage_as_malformed(void**) {
    for (const char* t : {"", "hello", "v4.public.", "v4.public.AAAA", "v2.public.AAAA"})
        expect(fx->verifier.verify(t), GrantVerdict::Malformed, t);
}

void test_rejects_v4_local_as_malformed(void**) {
    expect(fx->verifier.verify("v4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAr68PS4AXe7If_Zge"),
           GrantVerdict::Malformed, "v4.local token");
}

void test_rejects_truncated_tokens(void**) {
    const std::string token = sign_grant(fx->key, core_test::sample_claims());
    for (size_t len = 0; len < token.size(); len += 7) {
        auto check = fx->verifier.verify(std::string_view(token).substr(0, len));
        if (check.verdict == GrantVerdict::Allow)
            fail_msg("token truncated to %zu bytes was allowed", len);
    }
    // Losing the footer's last character keeps a decodable shape only by luck;
    // either way it is never a grant.
    assert_int_not_equal(static_cast<int>(fx->verifier.verify(token.substr(0, token.size() - 1)).verdict),
                         static_cast<int>(GrantVerdict::Allow));
}

void test_rejects_oversized_token(void**) {
    std::string token = sign_grant(fx->key, core_test::sample_claims());
    token.insert(10, std::string(MAX_TOKEN_LENGTH, 'A'));
    auto check = fx->verifier.verify(token);
    expect(check, GrantVerdict::Malformed, "oversized token");
    assert_non_null(std::strstr(check.detail.c_str(), "longer"));
}

void test_rejects_non_canonical_base64(void**) {
    // Find a payload whose body leaves unused bits in the last character.
    GrantClaims c = core_test::sample_claims();
    std::string token;
    for (int i = 0; i < 3; ++i) {
        token = sign_grant(fx->key, c);
        const size_t body_len = token.find('.', 10) - 10;
        if (body_len % 4 != 0)
            break;
        c.reason += "x";
    }
    const size_t dot = token.find('.', 10);
    assert_true((dot - 10) % 4 != 0);
    expect(fx->verifier.verify(token), GrantVerdict::Allow, "before tampering");
    char& last = token[dot - 1];
    last = static_cast<char>(last + 1);  // sets an unused low bit
    expect(fx->verifier.verify(token), GrantVerdict::Malformed, "non-canonical body");
}

void test_rejects_missing_or_strange_footer(void**) {
    const std::string payload = grant_claims_to_json(core_test::sample_claims());
    const std::string kid = paserk_pid(fx->key.public_key());
    const std::string footers[] = {
        "",
        "not json",
        "[\"" + kid + "\"]",
        "{\"kid\":7}",
        "{\"kid\":\"" + kid + "\",\"x\":1}",
        "{\"kid\":\"k4.public.AAAA\"}",
        "{\"kid\":\"" + kid + "\\n\"}",
        "{\"kid\":\"" + std::string(300, 'a') + "\"}",
    };
    for (const auto& f : footers)
        expect(fx->verifier.verify(paseto_v4_sign(fx->key, payload, f)), GrantVerdict::Malformed, f.c_str());
}

void test_rejects_signed_but_invalid_claims_as_malformed(void**) {
    expect(fx->verifier.verify(paseto_v4_sign(fx->key, "{\"sub\":\"alice\"}", fx->footer())), GrantVerdict::Malformed,
           "claims missing");
    expect(fx->verifier.verify(paseto_v4_sign(fx->key, "", fx->footer())), GrantVerdict::Malformed, "empty payload");
}

void test_rejects_unknown_key(void**) {
    auto check = fx->verifier.verify(sign_grant(fx->stranger, core_test::sample_claims()));
    expect(check, GrantVerdict::UnknownKey, "untrusted signer");
    assert_string_equal(check.kid.c_str(), paserk_pid(fx->stranger.public_key()).c_str());
}

void test_rejects_forged_kid_as_bad_signature(void**) {
    const std::string payload = grant_claims_to_json(core_test::sample_claims());
    expect(fx->verifier.verify(paseto_v4_sign(fx->stranger, payload, fx->footer())), GrantVerdict::BadSignature,
           "signed by a stranger under a trusted kid");
}

void test_rejects_tampered_payload_as_bad_signature(void**) {
    std::string token = sign_grant(fx->key, core_test::sample_claims());
    const size_t dot = token.find('.', 10);
    auto body = base64url_decode(std::string_view(token).substr(10, dot - 10));
    assert_true(body.ok());
    std::string payload(body->begin(), body->end() - 64);
    auto at = payload.find("\"alice\"");
    payload.replace(at, 7, "\"admin\"");
    std::vector<uint8_t> forged(payload.begin(), payload.end());
    forged.insert(forged.end(), body->end() - 64, body->end());
    token = "v4.public." + base64url_encode(forged.data(), forged.size()) + token.substr(dot);
    expect(fx->verifier.verify(token), GrantVerdict::BadSignature, "payload changed after signing");
}

void test_rejects_wrong_tenant(void**) {
    GrantClaims c = core_test::sample_claims();
    c.aud = "fabrikam";
    expect(verify_claims(c), GrantVerdict::WrongTenant, "other tenant");
}

void test_rejects_host_not_listed(void**) {
    GrantClaims c = core_test::sample_claims();
    c.hosts = {"db02", "db010"};
    expect(verify_claims(c), GrantVerdict::WrongHost, "other hosts");
}

// "@group" covers the hosts whose [Host] Groups= name it, and no other host.
void test_host_groups_cover_their_members_only(void**) {
    GrantClaims c = core_test::sample_claims();
    c.hosts = {"@payments", "web-9"};
    GrantVerifier member(Fixture::trusted(fx->key),
                         VerifierPolicy{"contoso", "db01", 4 * HOUR, SKEW, {"eu", "payments"}}, fx->clock);
    expect(member.verify(sign_grant(fx->key, c)), GrantVerdict::Allow, "db01 is in @payments");
    GrantVerifier other(Fixture::trusted(fx->key), VerifierPolicy{"contoso", "db01", 4 * HOUR, SKEW, {"eu"}},
                        fx->clock);
    expect(other.verify(sign_grant(fx->key, c)), GrantVerdict::WrongHost, "db01 is not in @payments");
    // A host named like a group does not match it, nor does "@" alone.
    GrantVerifier named(Fixture::trusted(fx->key), VerifierPolicy{"contoso", "payments", 4 * HOUR, SKEW, {}},
                        fx->clock);
    expect(named.verify(sign_grant(fx->key, c)), GrantVerdict::WrongHost, "host 'payments' is not @payments");
    c.hosts = {"@"};
    assert_false(validate_grant_claims(c).ok());
    c.hosts = {"@Payments"};
    assert_false(validate_grant_claims(c).ok());
}

// Revocation tokens (docs/tokens.md): signed by a trusted key, for this tenant,
// and never mistaken for a grant or the other way round.
void test_revocation_tokens(void**) {
    const std::string jti = core_test::sample_claims().jti;
    TrustedKeys keys = Fixture::trusted(fx->key);
    std::string token = sign_revocation(fx->key, RevocationClaims{"contoso", jti, "revoked", "alex", T0, T0 + HOUR});
    auto ok = verify_revocation(keys, token, "contoso");
    if (!ok)
        fail_msg("revocation refused: %s", ok.error().message.c_str());
    assert_string_equal(ok->jti.c_str(), jti.c_str());
    assert_true(ok->exp == T0 + HOUR);
    assert_string_equal(ok->by.c_str(), "alex");
    std::string odd = sign_revocation(fx->key, RevocationClaims{"contoso", jti, "forgiven", "alex", T0, T0 + HOUR});
    assert_false(verify_revocation(keys, odd, "contoso").ok());
    assert_false(verify_revocation(keys, token, "fabrikam").ok());
    std::string forged =
        sign_revocation(fx->stranger, RevocationClaims{"contoso", jti, "revoked", "alex", T0, T0 + HOUR});
    assert_false(verify_revocation(keys, forged, "contoso").ok());
    // Neither passes for the other.
    expect(fx->verifier.verify(token), GrantVerdict::Malformed, "a revocation offered as a grant");
    assert_false(verify_revocation(keys, sign_grant(fx->key, core_test::sample_claims()), "contoso").ok());
    // A store that edits one byte breaks the signature.
    std::string tampered = token;
    tampered[20] = tampered[20] == 'A' ? 'B' : 'A';
    assert_false(verify_revocation(keys, tampered, "contoso").ok());
}

void test_rejects_window_longer_than_maximum(void**) {
    GrantClaims c = core_test::sample_claims();
    c.exp = c.nbf + 4 * HOUR + USEC_PER_SEC;
    expect(verify_claims(c), GrantVerdict::WindowTooLong, "4h01s window");
    c.exp = c.nbf + 4 * HOUR;
    expect(verify_claims(c), GrantVerdict::Allow, "exactly the maximum");
}

void test_allows_nbf_backdated_a_minute_before_iat(void**) {
    GrantClaims c = core_test::sample_claims();
    c.iat = T0;
    c.nbf = T0 - 60 * USEC_PER_SEC;
    auto check = verify_claims(c);
    expect(check, GrantVerdict::Allow, "nbf = iat - 60 s");
    assert_true(check.claims == c);
    c.exp = c.nbf + 4 * HOUR;
    expect(verify_claims(c), GrantVerdict::Allow, "backdated, exp - nbf exactly the maximum");
    expect(fx->verifier.verify_ignoring_time(sign_grant(fx->key, c)), GrantVerdict::Allow, "backdated, time ignored");
}

void test_backdated_nbf_counts_against_the_maximum(void**) {
    GrantClaims c = core_test::sample_claims();
    c.iat = T0;
    c.nbf = T0 - 60 * USEC_PER_SEC;
    c.exp = T0 + 4 * HOUR;  // the maximum from iat, one minute over it from nbf
    auto check = verify_claims(c);
    expect(check, GrantVerdict::WindowTooLong, "exp - nbf = 4h1m");
    if (check.detail.find("4h1m") == std::string::npos || check.detail.find("backdated 1m") == std::string::npos)
        fail_msg("detail does not say why: %s", check.detail.c_str());
    expect(fx->verifier.verify_ignoring_time(sign_grant(fx->key, c)), GrantVerdict::WindowTooLong,
           "exp - nbf = 4h1m, time ignored");
}

void test_not_yet_valid_while_iat_is_in_the_future(void**) {
    // nbf has passed, but the token says it was issued an hour from now.
    GrantClaims c = core_test::sample_claims();
    c.nbf = T0;
    c.iat = T0 + 2 * HOUR;
    c.exp = T0 + 3 * HOUR;
    const std::string token = sign_grant(fx->key, c);
    fx->clock.set(c.iat - SKEW - 1);
    auto check = fx->verifier.verify(token);
    expect(check, GrantVerdict::NotYetValid, "just before iat - skew");
    assert_non_null(std::strstr(check.detail.c_str(), "issued at 2026-11-29T22:00:00Z"));
    fx->clock.set(c.iat - SKEW);
    expect(fx->verifier.verify(token), GrantVerdict::Allow, "at iat - skew");
    fx->clock.set(T0 + HOUR);
}

void test_not_yet_valid_until_nbf_minus_skew(void**) {
    GrantClaims c = core_test::sample_claims();
    c.iat = c.nbf = T0 + 2 * HOUR;
    c.exp = T0 + 3 * HOUR;
    const std::string token = sign_grant(fx->key, c);
    fx->clock.set(c.nbf - SKEW - 1);
    expect(fx->verifier.verify(token), GrantVerdict::NotYetValid, "just before nbf - skew");
    fx->clock.set(c.nbf - SKEW);
    expect(fx->verifier.verify(token), GrantVerdict::Allow, "at nbf - skew");
    fx->clock.set(T0 + HOUR);
}

void test_expired_from_exp_plus_skew(void**) {
    const GrantClaims c = core_test::sample_claims();
    const std::string token = sign_grant(fx->key, c);
    fx->clock.set(c.exp + SKEW - 1);
    expect(fx->verifier.verify(token), GrantVerdict::Allow, "just before exp + skew");
    fx->clock.set(c.exp + SKEW);
    expect(fx->verifier.verify(token), GrantVerdict::Expired, "at exp + skew");
    fx->clock.set(T0 + HOUR);
}

void test_rejects_revoked_grant(void**) {
    const GrantClaims c = core_test::sample_claims();
    std::string asked;
    auto check = fx->verifier.verify(sign_grant(fx->key, c), [&](const std::string& jti) {
        asked = jti;
        return true;
    });
    expect(check, GrantVerdict::Revoked, "revoked jti");
    assert_string_equal(asked.c_str(), c.jti.c_str());
    expect(fx->verifier.verify(sign_grant(fx->key, c), [](const std::string&) { return false; }), GrantVerdict::Allow,
           "not revoked");
}

void test_revocation_list_not_consulted_before_signature(void**) {
    const std::string payload = grant_claims_to_json(core_test::sample_claims());
    int calls = 0;
    auto check = fx->verifier.verify(paseto_v4_sign(fx->stranger, payload, fx->footer()),
                                     [&](const std::string&) { return ++calls > 0; });
    expect(check, GrantVerdict::BadSignature, "forged");
    assert_int_equal(calls, 0);
}

void test_verify_ignoring_time_skips_only_the_window_test(void**) {
    GrantClaims c = core_test::sample_claims();
    const std::string token = sign_grant(fx->key, c);
    fx->clock.set(c.exp + HOUR);
    expect(fx->verifier.verify(token), GrantVerdict::Expired, "expired with time");
    expect(fx->verifier.verify_ignoring_time(token), GrantVerdict::Allow, "expired, time ignored");
    fx->clock.set(c.nbf - HOUR);
    expect(fx->verifier.verify_ignoring_time(token), GrantVerdict::Allow, "future, time ignored");
    expect(fx->verifier.verify_ignoring_time(token, [](const std::string&) { return true; }), GrantVerdict::Revoked,
           "revoked, time ignored");
    c.hosts = {"db09"};
    expect(fx->verifier.verify_ignoring_time(sign_grant(fx->key, c)), GrantVerdict::WrongHost,
           "wrong host, time ignored");
    c = core_test::sample_claims();
    c.exp = c.nbf + 5 * HOUR;
    expect(fx->verifier.verify_ignoring_time(sign_grant(fx->key, c)), GrantVerdict::WindowTooLong,
           "long window, time ignored");
    fx->clock.set(T0 + HOUR);
}

void test_allows_claims_near_the_size_limit(void**) {
    GrantClaims c = core_test::sample_claims();
    c.ssh_keys.assign(7, std::string(core_test::SSH_KEY) + std::string(6000, 'x'));
    assert_true(validate_grant_claims(c).ok());
    const std::string token = sign_grant(fx->key, c);
    assert_true(token.size() <= MAX_TOKEN_LENGTH);
    expect(fx->verifier.verify(token), GrantVerdict::Allow, "claims near the size limit");
}

void test_every_verdict_has_its_wire_name(void**) {
    const std::pair<GrantVerdict, const char*> names[] = {
        {GrantVerdict::Allow, "allow"},
        {GrantVerdict::Malformed, "malformed"},
        {GrantVerdict::BadSignature, "bad-signature"},
        {GrantVerdict::UnknownKey, "unknown-key"},
        {GrantVerdict::WrongTenant, "wrong-tenant"},
        {GrantVerdict::WrongHost, "wrong-host"},
        {GrantVerdict::NotYetValid, "not-yet-valid"},
        {GrantVerdict::Expired, "expired"},
        {GrantVerdict::WindowTooLong, "window-too-long"},
        {GrantVerdict::Revoked, "revoked"},
    };
    for (const auto& [v, name] : names)
        assert_string_equal(grant_verdict_name(v), name);
}

void test_sign_grant_footer_names_the_key(void**) {
    auto footer = paseto_v4_untrusted_footer(sign_grant(fx->key, core_test::sample_claims()));
    assert_true(footer.ok());
    assert_string_equal(footer->c_str(), fx->footer().c_str());
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allows_valid_grant_and_returns_claims),
        cmocka_unit_test(test_rejects_garbage_as_malformed),
        cmocka_unit_test(test_rejects_v4_local_as_malformed),
        cmocka_unit_test(test_rejects_truncated_tokens),
        cmocka_unit_test(test_rejects_oversized_token),
        cmocka_unit_test(test_rejects_non_canonical_base64),
        cmocka_unit_test(test_rejects_missing_or_strange_footer),
        cmocka_unit_test(test_rejects_signed_but_invalid_claims_as_malformed),
        cmocka_unit_test(test_rejects_unknown_key),
        cmocka_unit_test(test_rejects_forged_kid_as_bad_signature),
        cmocka_unit_test(test_rejects_tampered_payload_as_bad_signature),
        cmocka_unit_test(test_rejects_wrong_tenant),
        cmocka_unit_test(test_rejects_host_not_listed),
        cmocka_unit_test(test_host_groups_cover_their_members_only),
        cmocka_unit_test(test_revocation_tokens),
        cmocka_unit_test(test_rejects_window_longer_than_maximum),
        cmocka_unit_test(test_allows_nbf_backdated_a_minute_before_iat),
        cmocka_unit_test(test_backdated_nbf_counts_against_the_maximum),
        cmocka_unit_test(test_not_yet_valid_while_iat_is_in_the_future),
        cmocka_unit_test(test_not_yet_valid_until_nbf_minus_skew),
        cmocka_unit_test(test_expired_from_exp_plus_skew),
        cmocka_unit_test(test_rejects_revoked_grant),
        cmocka_unit_test(test_revocation_list_not_consulted_before_signature),
        cmocka_unit_test(test_verify_ignoring_time_skips_only_the_window_test),
        cmocka_unit_test(test_allows_claims_near_the_size_limit),
        cmocka_unit_test(test_every_verdict_has_its_wire_name),
        cmocka_unit_test(test_sign_grant_footer_names_the_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

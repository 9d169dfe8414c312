#include "core_test.h"
#include "sample_grant.h"

#include "grant_claims.h"
#include "names.h"
#include "../errc_assert.h"

using namespace lockbox;
using nlohmann::json;

namespace {

json sample_json() { return json::parse(grant_claims_to_json(core_test::sample_claims())); }

// Parses j and insists on a "malformed" refusal whose message mentions `mention`.
void expect_refused(const std::string& text, const char* mention, const char* why) {
    auto r = parse_grant_claims(text);
    if (r.ok())
        fail_msg("accepted claims with %s", why);
    assert_errc(r.error().code, lockbox::Errc::Malformed);
    if (mention && r.error().message.find(mention) == std::string::npos)
        fail_msg("%s: message '%s' does not name '%s'", why, r.error().message.c_str(), mention);
}

void expect_refused_json(const json& j, const char* mention, const char* why) {
    expect_refused(j.dump(), mention, why);
}

void test_round_trips_through_json(void**) {
    const GrantClaims c = core_test::sample_claims();
    auto parsed = parse_grant_claims(grant_claims_to_json(c));
    if (!parsed.ok())
        fail_msg("%s", parsed.error().message.c_str());
    assert_true(*parsed == c);
}

void test_times_are_rfc3339_utc_strings(void**) {
    json j = sample_json();
    assert_string_equal(j["nbf"].get<std::string>().c_str(), "2026-11-29T20:00:00Z");
    assert_string_equal(j["exp"].get<std::string>().c_str(), "2026-11-29T22:00:00Z");
    assert_string_equal(j["approved_by"][1]["at"].get<std::string>().c_str(), "2026-11-29T19:59:00Z");
}

void test_parses_hand_written_claims(void**) {
    const char* text = R"({"iss":"approvald","sub":"bob","aud":"fabrikam",
        "jti":"6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "iat":"2026-01-01T00:00:00Z","nbf":"2026-01-01T00:00:00+00:00","exp":"2026-01-01T04:00:00Z",
        "hosts":["web1"],"ticket":"SR#991","reason":"disk full",
        "ssh_keys":["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOQKkv+/BXTyW+VFVdbkhKDnbi0e3Lcm/yMDtNfpjDMn"],
        "approved_by":[{"role":"approver","user":"carol","at":"2025-12-31T23:59:00Z"}]})";
    auto r = parse_grant_claims(text);
    if (!r.ok())
        fail_msg("%s", r.error().message.c_str());
    assert_string_equal(r->sub.c_str(), "bob");
    assert_int_equal(r->exp - r->nbf, 4 * core_test::HOUR);
}

// Issuers backdate nbf for clock skew (Teleport starts certificates a minute
// early); the claims carry that as they are, and the verifier bounds exp - nbf.
void test_accepts_nbf_backdated_before_iat(void**) {
    GrantClaims c = core_test::sample_claims();
    c.iat = core_test::T0;
    c.nbf = core_test::T0 - 60 * USEC_PER_SEC;
    assert_true(validate_grant_claims(c).ok());
    auto parsed = parse_grant_claims(grant_claims_to_json(c));
    if (!parsed.ok())
        fail_msg("nbf a minute before iat: %s", parsed.error().message.c_str());
    assert_true(*parsed == c);
    json j = sample_json();
    j["iat"] = "2026-11-29T21:59:59Z";  // one second before exp: still a token
    auto late = parse_grant_claims(j.dump());
    if (!late.ok())
        fail_msg("iat a second before exp: %s", late.error().message.c_str());
}

// `access` is the one optional claim: a token without it (a peer issuer, a grant
// signed before levels) is read as stating none, so the host gives it its least
// privileged level (access_level.h); one with it round-trips.
void test_access_claim_is_optional_and_round_trips(void**) {
    json j = sample_json();
    assert_false(j.contains("access"));
    auto none = parse_grant_claims(j.dump());
    if (!none.ok())
        fail_msg("claims without access: %s", none.error().message.c_str());
    assert_true(none->access.empty());
    GrantClaims c = core_test::sample_claims();
    c.access = "dbadmin";
    auto parsed = parse_grant_claims(grant_claims_to_json(c));
    if (!parsed.ok())
        fail_msg("claims with access: %s", parsed.error().message.c_str());
    assert_string_equal(parsed->access.c_str(), "dbadmin");
    assert_true(*parsed == c);
}

void test_refuses_invalid_access_claim(void**) {
    for (const char* bad : {"", "Admin", "1admin", "ad min", "a;b", "aaaaaaaaaaaaaaaaaaaaaaaaa"}) {
        json j = sample_json();
        j["access"] = bad;
        expect_refused_json(j, "access", bad);
    }
    json j = sample_json();
    j["access"] = json::array({"admin"});
    expect_refused_json(j, "access", "a list");
    std::string text = grant_claims_to_json(core_test::sample_claims());
    text.insert(1, "\"access\":\"user\",\"access\":\"admin\",");
    expect_refused(text, "access", "a repeated access claim");
    GrantClaims c = core_test::sample_claims();
    c.access = "Root";
    assert_false(validate_grant_claims(c).ok());
}

void test_refuses_each_missing_claim(void**) {
    for (const char* name :
         {"iss", "sub", "aud", "jti", "iat", "nbf", "exp", "hosts", "ticket", "reason", "ssh_keys", "approved_by"}) {
        json j = sample_json();
        j.erase(name);
        expect_refused_json(j, name, name);
    }
}

void test_refuses_each_claim_of_wrong_type(void**) {
    for (const char* name :
         {"iss", "sub", "aud", "jti", "iat", "nbf", "exp", "hosts", "ticket", "reason", "ssh_keys", "approved_by"}) {
        json j = sample_json();
        j[name] = 12345;
        expect_refused_json(j, name, name);
        j[name] = nullptr;
        expect_refused_json(j, name, name);
    }
}

void test_refuses_unknown_claim(void**) {
    json j = sample_json();
    j["admin"] = true;
    expect_refused_json(j, "admin", "an unknown claim");
}

void test_refuses_duplicate_key(void**) {
    std::string text = grant_claims_to_json(core_test::sample_claims());
    text.insert(1, "\"sub\":\"root\",");
    expect_refused(text, "sub", "a repeated key");
}

void test_refuses_non_json_and_non_object(void**) {
    expect_refused("", nullptr, "empty text");
    expect_refused("not json", nullptr, "plain text");
    expect_refused("[]", nullptr, "a list");
    expect_refused("\"text\"", nullptr, "a string");
    expect_refused(grant_claims_to_json(core_test::sample_claims()) + "x", nullptr, "trailing garbage");
}

void test_refuses_deep_nesting(void**) {
    json j = sample_json();
    j["hosts"] = json::array({json::array({json::array({"db01"})})});
    expect_refused_json(j, "deeper", "nested lists");
    expect_refused(std::string(10000, '[') + std::string(10000, ']'), nullptr, "10000 nested lists");
}

void test_refuses_oversized_payload(void**) {
    json j = sample_json();
    j["reason"] = std::string(MAX_CLAIMS_JSON, 'a');
    expect_refused_json(j, "larger", "an oversized payload");
}

void test_refuses_invalid_utf8(void**) {
    std::string text = grant_claims_to_json(core_test::sample_claims());
    auto at = text.find("investigate");
    text[at] = '\xff';
    expect_refused(text, nullptr, "invalid UTF-8");
}

struct Mutation {
    const char* why;
    const char* claim;
    void (*apply)(json&);
};

const Mutation MUTATIONS[] = {
    {"an uppercase engineer name", "sub", [](json& j) { j["sub"] = "Alice"; }},
    {"an engineer name with a dot", "sub", [](json& j) { j["sub"] = "a.b"; }},
    {"an overlong engineer name", "sub", [](json& j) { j["sub"] = std::string(MAX_USER_NAME + 1, 'a'); }},
    {"a bad issuer", "iss", [](json& j) { j["iss"] = "bad host!"; }},
    {"a bad tenant", "aud", [](json& j) { j["aud"] = "Contoso Ltd"; }},
    {"an overlong tenant", "aud", [](json& j) { j["aud"] = std::string(MAX_TENANT_NAME + 1, 'a'); }},
    {"an uppercase uuid", "jti", [](json& j) { j["jti"] = "0F8FAD5B-D9CB-469F-A165-70867728950E"; }},
    {"a non-uuid jti", "jti", [](json& j) { j["jti"] = "12345"; }},
    {"iat equal to exp", "iat", [](json& j) { j["iat"] = j["exp"]; }},
    {"iat after exp", "iat", [](json& j) { j["iat"] = "2026-11-29T22:00:01Z"; }},
    {"exp equal to nbf", "exp", [](json& j) { j["exp"] = j["nbf"]; }},
    {"exp before nbf", "exp", [](json& j) { j["exp"] = "2026-11-29T19:00:00Z"; }},
    {"a non-UTC offset", "nbf", [](json& j) { j["nbf"] = "2026-11-29T21:00:00+01:00"; }},
    {"a time without zone", "exp", [](json& j) { j["exp"] = "2026-11-29T22:00:00"; }},
    {"a time with a space", "exp", [](json& j) { j["exp"] = "2026-11-29 22:00:00Z"; }},
    {"a fraction of a second", "nbf", [](json& j) { j["nbf"] = "2026-11-29T20:00:00.5Z"; }},
    {"a numeric time", "exp", [](json& j) { j["exp"] = 1795989600; }},
    {"no hosts", "hosts", [](json& j) { j["hosts"] = json::array(); }},
    {"a bad host", "hosts",
     [](json& j) {
         j["hosts"] = {"db01", "-bad-"};
     }},
    {"a host that is not a string", "hosts",
     [](json& j) {
         j["hosts"] = {"db01", 7};
     }},
    {"a duplicate host", "hosts",
     [](json& j) {
         j["hosts"] = {"db01", "db01"};
     }},
    {"too many hosts", "hosts",
     [](json& j) {
         json hosts = json::array();
         for (size_t i = 0; i <= MAX_HOSTS; ++i)
             hosts.push_back(std::string("h").append(std::to_string(i)));
         j["hosts"] = hosts;
     }},
    {"a ticket with a space", "ticket", [](json& j) { j["ticket"] = "INC 1"; }},
    {"an overlong ticket", "ticket", [](json& j) { j["ticket"] = std::string(MAX_TICKET + 1, '1'); }},
    {"a reason with a newline", "reason", [](json& j) { j["reason"] = "a\nb"; }},
    {"a reason with an escape", "reason", [](json& j) { j["reason"] = "a\x1b[2Jb"; }},
    {"an overlong reason", "reason", [](json& j) { j["reason"] = std::string(MAX_REASON + 1, 'r'); }},
    {"no ssh keys", "ssh_keys", [](json& j) { j["ssh_keys"] = json::array(); }},
    {"a broken ssh key", "ssh_keys", [](json& j) { j["ssh_keys"] = {"ssh-ed25519 AAAA"}; }},
    {"an ssh key with options", "ssh_keys",
     [](json& j) { j["ssh_keys"] = {std::string("command=\"sh\" ") + core_test::SSH_KEY}; }},
    {"too many ssh keys", "ssh_keys",
     [](json& j) { j["ssh_keys"] = std::vector<std::string>(MAX_SSH_KEYS + 1, core_test::SSH_KEY); }},
    {"an unknown approval role", "approved_by", [](json& j) { j["approved_by"][1]["role"] = "root"; }},
    {"an invalid approving user", "approved_by", [](json& j) { j["approved_by"][1]["user"] = "Carol"; }},
    {"an approval without time", "approved_by", [](json& j) { j["approved_by"][1].erase("at"); }},
    {"an approval with a bad time", "approved_by", [](json& j) { j["approved_by"][1]["at"] = "yesterday"; }},
    {"an approval with an extra field", "approved_by", [](json& j) { j["approved_by"][1]["note"] = "x"; }},
    {"an approval that is a string", "approved_by", [](json& j) { j["approved_by"][1] = "carol"; }},
    {"no customer approver", "approved_by", [](json& j) { j["approved_by"].erase(1); }},
    {"no approvals", "approved_by", [](json& j) { j["approved_by"] = json::array(); }},
    {"too many approvals", "approved_by",
     [](json& j) {
         for (size_t i = 0; i < MAX_APPROVALS; ++i)
             j["approved_by"].push_back(j["approved_by"][1]);
     }},
};

void test_refuses_each_invalid_claim_value(void**) {
    for (const auto& m : MUTATIONS) {
        json j = sample_json();
        m.apply(j);
        expect_refused_json(j, m.claim, m.why);
    }
}

void test_validate_refuses_what_parse_refuses(void**) {
    GrantClaims c = core_test::sample_claims();
    assert_true(validate_grant_claims(c).ok());
    c.hosts.push_back("UPPER");
    assert_false(validate_grant_claims(c).ok());
}

void test_validate_refuses_claims_too_large_to_sign(void**) {
    GrantClaims c = core_test::sample_claims();
    // Each key is valid on its own (a long comment); together they are too big
    // for a token.
    const std::string big = std::string(core_test::SSH_KEY) + std::string(6000, 'x');
    assert_true(is_valid_ssh_public_key(big));
    c.ssh_keys.assign(MAX_SSH_KEYS, big);
    auto r = validate_grant_claims(c);
    assert_false(r.ok());
    assert_non_null(std::strstr(r.error().message.c_str(), "larger"));
    c.ssh_keys.assign(6, big);
    assert_true(validate_grant_claims(c).ok());
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips_through_json),
        cmocka_unit_test(test_times_are_rfc3339_utc_strings),
        cmocka_unit_test(test_parses_hand_written_claims),
        cmocka_unit_test(test_accepts_nbf_backdated_before_iat),
        cmocka_unit_test(test_access_claim_is_optional_and_round_trips),
        cmocka_unit_test(test_refuses_invalid_access_claim),
        cmocka_unit_test(test_refuses_each_missing_claim),
        cmocka_unit_test(test_refuses_each_claim_of_wrong_type),
        cmocka_unit_test(test_refuses_unknown_claim),
        cmocka_unit_test(test_refuses_duplicate_key),
        cmocka_unit_test(test_refuses_non_json_and_non_object),
        cmocka_unit_test(test_refuses_deep_nesting),
        cmocka_unit_test(test_refuses_oversized_payload),
        cmocka_unit_test(test_refuses_invalid_utf8),
        cmocka_unit_test(test_refuses_each_invalid_claim_value),
        cmocka_unit_test(test_validate_refuses_what_parse_refuses),
        cmocka_unit_test(test_validate_refuses_claims_too_large_to_sign),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

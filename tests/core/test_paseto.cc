#include "core_test.h"

#include "base64url.h"
#include "paseto.h"
#include "../errc_assert.h"

using namespace lockbox;
using core_test::from_hex;
using core_test::str;

namespace {

nlohmann::json v4;

SecretKey vector_secret_key() {
    for (const auto& t : v4["tests"]) {
        if (str(t, "name") == "4-S-1") {
            auto bytes = from_hex(str(t, "secret-key"));
            auto sk = secret_key_from_bytes(bytes.data(), bytes.size());
            assert_true(sk.ok());
            return *sk;
        }
    }
    fail_msg("vector 4-S-1 missing");
    return {};
}

PublicKey vector_public_key() {
    auto bytes = from_hex("1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2");
    return *public_key_from_bytes(bytes.data(), bytes.size());
}

void test_sign_reproduces_every_v4_public_vector(void**) {
    int seen = 0;
    for (const auto& t : v4["tests"]) {
        const std::string name = str(t, "name");
        if (name.rfind("4-S-", 0) != 0)
            continue;
        auto bytes = from_hex(str(t, "secret-key"));
        auto sk = secret_key_from_bytes(bytes.data(), bytes.size());
        assert_true(sk.ok());
        std::string token = paseto_v4_sign(*sk, str(t, "payload"), str(t, "footer"), str(t, "implicit-assertion"));
        if (token != str(t, "token"))
            fail_msg("%s: signed token differs from the vector", name.c_str());
        ++seen;
    }
    assert_int_equal(seen, 3);
}

void test_verify_accepts_every_v4_public_vector(void**) {
    int seen = 0;
    for (const auto& t : v4["tests"]) {
        const std::string name = str(t, "name");
        if (name.rfind("4-S-", 0) != 0)
            continue;
        auto pkb = from_hex(str(t, "public-key"));
        auto pk = public_key_from_bytes(pkb.data(), pkb.size());
        assert_true(pk.ok());
        auto m = paseto_v4_verify(*pk, str(t, "token"), str(t, "implicit-assertion"));
        if (!m.ok())
            fail_msg("%s: %s", name.c_str(), m.error().message.c_str());
        assert_string_equal(m->payload.c_str(), str(t, "payload").c_str());
        assert_string_equal(m->footer.c_str(), str(t, "footer").c_str());
        ++seen;
    }
    assert_int_equal(seen, 3);
}

void test_verify_rejects_every_failure_and_local_vector(void**) {
    int seen = 0;
    for (const auto& t : v4["tests"]) {
        const std::string name = str(t, "name");
        if (name.rfind("4-F-", 0) != 0 && name.rfind("4-E-", 0) != 0)
            continue;
        PublicKey pk = vector_public_key();
        if (!str(t, "public-key").empty()) {
            auto b = from_hex(str(t, "public-key"));
            pk = *public_key_from_bytes(b.data(), b.size());
        }
        auto m = paseto_v4_verify(pk, str(t, "token"), str(t, "implicit-assertion"));
        if (m.ok())
            fail_msg("%s: a public verifier accepted it", name.c_str());
        ++seen;
    }
    assert_true(seen >= 9 + 5);
}

void test_pae_matches_spec_examples(void**) {
    assert_true(paseto_pae({}) == std::string(8, '\0'));
    assert_true(paseto_pae({""}) == std::string("\x01\0\0\0\0\0\0\0", 8) + std::string(8, '\0'));
    assert_true(paseto_pae({"test"}) == std::string("\x01\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0test", 20));
}

void test_verify_rejects_every_truncation(void**) {
    SecretKey sk = vector_secret_key();
    const std::string token = paseto_v4_sign(sk, "{\"a\":1}", "{\"kid\":\"x\"}");
    for (size_t len = 0; len < token.size(); ++len) {
        if (paseto_v4_verify(sk.public_key(), std::string_view(token).substr(0, len)).ok())
            fail_msg("truncated to %zu bytes and still accepted", len);
    }
    assert_true(paseto_v4_verify(sk.public_key(), token).ok());
}

void test_verify_rejects_oversized_token(void**) {
    SecretKey sk = vector_secret_key();
    const std::string token = paseto_v4_sign(sk, std::string(MAX_TOKEN_LENGTH, 'x'));
    auto m = paseto_v4_verify(sk.public_key(), token);
    assert_false(m.ok());
    assert_errc(m.error().code, lockbox::Errc::Malformed);
}

void test_verify_rejects_wrong_shapes(void**) {
    SecretKey sk = vector_secret_key();
    const std::string plain = paseto_v4_sign(sk, "hello");
    const std::string footed = paseto_v4_sign(sk, "hello", "foot");
    const std::string body = plain.substr(10);
    const PublicKey pk = sk.public_key();
    const std::string bad[] = {
        "v4.public.",               // empty body
        "v4.public." + body + ".",  // trailing dot, empty footer
        footed + ".",               // trailing dot after footer
        footed + ".Zm9v",           // fifth segment
        "v4.public.." + footed.substr(footed.rfind('.') + 1),
        "v4.local." + body,   // other purpose
        "v3.public." + body,  // other version
        "V4.PUBLIC." + body,  // header is case-sensitive
        "v4.public" + body,   // header without its dot
        " " + plain,
        plain + "\n",
        plain + "=",
    };
    for (const auto& token : bad) {
        auto m = paseto_v4_verify(pk, token);
        if (m.ok())
            fail_msg("accepted: %s", token.c_str());
        assert_errc(m.error().code, lockbox::Errc::Malformed);
    }
}

void test_verify_rejects_non_canonical_base64(void**) {
    SecretKey sk = vector_secret_key();
    // 5 + 64 = 69 bytes = 23 groups: no partial group. 6 + 64 = 70 leaves one
    // byte in the last group, i.e. 4 unused bits in the last character.
    const std::string token = paseto_v4_sign(sk, "hello!");
    assert_true(paseto_v4_verify(sk.public_key(), token).ok());
    std::string tampered = token;
    const char last = tampered.back();
    tampered.back() = (last == 'A') ? 'B' : static_cast<char>(last + 1);
    auto m = paseto_v4_verify(sk.public_key(), tampered);
    assert_false(m.ok());
    // Refused by the decoder, before the signature could save us.
    assert_errc(m.error().code, lockbox::Errc::Malformed);
}

void test_verify_rejects_changed_payload_footer_or_implicit(void**) {
    SecretKey sk = vector_secret_key();
    const PublicKey pk = sk.public_key();
    const std::string token = paseto_v4_sign(sk, "payload", "footer", "implicit");
    assert_true(paseto_v4_verify(pk, token, "implicit").ok());
    auto wrong_implicit = paseto_v4_verify(pk, token, "other");
    assert_false(wrong_implicit.ok());
    assert_errc(wrong_implicit.error().code, lockbox::Errc::BadSignature);
    assert_false(paseto_v4_verify(pk, token).ok());

    const std::string other_footer = token.substr(0, token.rfind('.') + 1) + base64url_encode("footeR");
    assert_errc(paseto_v4_verify(pk, other_footer, "implicit").error().code, lockbox::Errc::BadSignature);
    const std::string no_footer = token.substr(0, token.rfind('.'));
    assert_errc(paseto_v4_verify(pk, no_footer, "implicit").error().code, lockbox::Errc::BadSignature);

    std::string flipped = token;
    flipped[12] = flipped[12] == 'A' ? 'B' : 'A';
    assert_false(paseto_v4_verify(pk, flipped, "implicit").ok());
}

void test_verify_rejects_other_key(void**) {
    SecretKey sk = vector_secret_key();
    SecretKey other = generate_secret_key();
    const std::string token = paseto_v4_sign(sk, "payload");
    auto m = paseto_v4_verify(other.public_key(), token);
    assert_false(m.ok());
    assert_errc(m.error().code, lockbox::Errc::BadSignature);
}

void test_untrusted_footer_reads_footer_without_key(void**) {
    SecretKey sk = vector_secret_key();
    auto f = paseto_v4_untrusted_footer(paseto_v4_sign(sk, "p", "{\"kid\":\"k\"}"));
    assert_true(f.ok());
    assert_string_equal(f->c_str(), "{\"kid\":\"k\"}");
    auto none = paseto_v4_untrusted_footer(paseto_v4_sign(sk, "p"));
    assert_true(none.ok());
    assert_true(none->empty());
    assert_false(paseto_v4_untrusted_footer("v4.local.AAAA").ok());
}

void test_empty_payload_round_trips(void**) {
    SecretKey sk = vector_secret_key();
    auto m = paseto_v4_verify(sk.public_key(), paseto_v4_sign(sk, ""));
    assert_true(m.ok());
    assert_true(m->payload.empty());
}

}  // namespace

int main(int argc, char** argv) {
    core_test::find_vectors(argc, argv);
    v4 = core_test::load_vectors("v4.json");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_reproduces_every_v4_public_vector),
        cmocka_unit_test(test_verify_accepts_every_v4_public_vector),
        cmocka_unit_test(test_verify_rejects_every_failure_and_local_vector),
        cmocka_unit_test(test_pae_matches_spec_examples),
        cmocka_unit_test(test_verify_rejects_every_truncation),
        cmocka_unit_test(test_verify_rejects_oversized_token),
        cmocka_unit_test(test_verify_rejects_wrong_shapes),
        cmocka_unit_test(test_verify_rejects_non_canonical_base64),
        cmocka_unit_test(test_verify_rejects_changed_payload_footer_or_implicit),
        cmocka_unit_test(test_verify_rejects_other_key),
        cmocka_unit_test(test_untrusted_footer_reads_footer_without_key),
        cmocka_unit_test(test_empty_payload_round_trips),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

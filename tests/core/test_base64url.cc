#include "core_test.h"

#include "base64url.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

struct Pair {
    const char* plain;
    const char* encoded;
};

// RFC 4648 §10 vectors, without the padding PASETO forbids.
constexpr Pair RFC4648[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

void test_encode_matches_rfc4648_without_padding(void**) {
    for (const auto& p : RFC4648)
        assert_string_equal(base64url_encode(std::string_view(p.plain)).c_str(), p.encoded);
}

void test_decode_matches_rfc4648_without_padding(void**) {
    for (const auto& p : RFC4648) {
        auto r = base64url_decode(p.encoded);
        assert_true(r.ok());
        assert_string_equal(std::string(r->begin(), r->end()).c_str(), p.plain);
    }
}

void test_encode_uses_url_alphabet(void**) {
    const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
    assert_string_equal(base64url_encode(bytes, sizeof bytes).c_str(), "-_-_");
}

void test_round_trips_every_length_and_byte(void**) {
    std::vector<uint8_t> data;
    for (size_t len = 0; len < 300; ++len) {
        data.push_back(static_cast<uint8_t>(len * 37 + 11));
        auto text = base64url_encode(data.data(), data.size());
        auto back = base64url_decode(text);
        assert_true(back.ok());
        assert_true(*back == data);
    }
}

void test_decode_rejects_padding(void**) {
    assert_false(base64url_decode("Zg==").ok());
    assert_false(base64url_decode("Zm8=").ok());
}

void test_decode_rejects_standard_alphabet(void**) {
    assert_false(base64url_decode("+/+/").ok());
    assert_false(base64url_decode("ab/c").ok());
}

void test_decode_rejects_non_canonical_trailing_bits(void**) {
    // "Zg" is canonical for "f"; "Zh".."Zv" carry set bits past the last byte.
    assert_true(base64url_decode("Zg").ok());
    assert_false(base64url_decode("Zh").ok());
    assert_false(base64url_decode("Zv").ok());
    assert_true(base64url_decode("Zm8").ok());
    assert_false(base64url_decode("Zm9").ok());
    assert_false(base64url_decode("Zm-").ok());
}

void test_decode_rejects_impossible_length(void**) {
    assert_false(base64url_decode("Z").ok());
    assert_false(base64url_decode("Zm9vY").ok());
}

void test_decode_rejects_whitespace_and_nul(void**) {
    assert_false(base64url_decode("Zm9v\n").ok());
    assert_false(base64url_decode(" Zm9v").ok());
    assert_false(base64url_decode(std::string_view("Zm\0v", 4)).ok());
}

void test_decode_error_code_is_malformed(void**) {
    auto r = base64url_decode("Zh");
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::Malformed);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_rfc4648_without_padding),
        cmocka_unit_test(test_decode_matches_rfc4648_without_padding),
        cmocka_unit_test(test_encode_uses_url_alphabet),
        cmocka_unit_test(test_round_trips_every_length_and_byte),
        cmocka_unit_test(test_decode_rejects_padding),
        cmocka_unit_test(test_decode_rejects_standard_alphabet),
        cmocka_unit_test(test_decode_rejects_non_canonical_trailing_bits),
        cmocka_unit_test(test_decode_rejects_impossible_length),
        cmocka_unit_test(test_decode_rejects_whitespace_and_nul),
        cmocka_unit_test(test_decode_error_code_is_malformed),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

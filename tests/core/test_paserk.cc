#include "core_test.h"

#include <cstring>

#include "base64url.h"
#include "paserk.h"

using namespace lockbox;
using core_test::from_hex;
using core_test::str;

namespace {

nlohmann::json pub_vectors, secret_vectors, pid_vectors;

void test_public_vectors_encode_and_decode(void**) {
    int pass = 0, fail = 0;
    for (const auto& t : pub_vectors["tests"]) {
        auto bytes = from_hex(str(t, "key"));
        auto pk = public_key_from_bytes(bytes.data(), bytes.size());
        if (t["expect-fail"].get<bool>()) {
            if (pk.ok())
                fail_msg("%s: wrong-size key accepted", str(t, "name").c_str());
            ++fail;
            continue;
        }
        assert_true(pk.ok());
        assert_string_equal(paserk_public(*pk).c_str(), str(t, "paserk").c_str());
        auto parsed = parse_paserk_public(str(t, "paserk"));
        assert_true(parsed.ok());
        assert_true(*parsed == *pk);
        ++pass;
    }
    assert_int_equal(pass, 3);
    assert_int_equal(fail, 1);
}

void test_secret_vectors_encode_and_decode(void**) {
    int pass = 0, fail = 0;
    for (const auto& t : secret_vectors["tests"]) {
        auto bytes = from_hex(str(t, "key"));
        auto sk = secret_key_from_bytes(bytes.data(), bytes.size());
        if (t["expect-fail"].get<bool>()) {
            if (sk.ok())
                fail_msg("%s: accepted", str(t, "name").c_str());
            ++fail;
            continue;
        }
        assert_true(sk.ok());
        assert_string_equal(paserk_secret(*sk).c_str(), str(t, "paserk").c_str());
        auto pub = from_hex(str(t, "public-key"));
        assert_memory_equal(sk->public_key().bytes.data(), pub.data(), 32);
        auto parsed = parse_paserk_secret(str(t, "paserk"));
        assert_true(parsed.ok());
        assert_memory_equal(parsed->bytes.data(), bytes.data(), 64);
        ++pass;
    }
    assert_int_equal(pass, 3);
    assert_int_equal(fail, 2);
}

void test_pid_vectors(void**) {
    int pass = 0, fail = 0;
    for (const auto& t : pid_vectors["tests"]) {
        auto bytes = from_hex(str(t, "key"));
        auto pk = public_key_from_bytes(bytes.data(), bytes.size());
        if (t["expect-fail"].get<bool>()) {
            if (pk.ok())
                fail_msg("%s: key id computed for a wrong-size key", str(t, "name").c_str());
            ++fail;
            continue;
        }
        assert_true(pk.ok());
        assert_string_equal(paserk_pid(*pk).c_str(), str(t, "paserk").c_str());
        ++pass;
    }
    assert_int_equal(pass, 3);
    assert_int_equal(fail, 2);
}

void test_parse_rejects_wrong_version_or_type(void**) {
    const std::string body = "cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
    assert_true(parse_paserk_public("k4.public." + body).ok());
    assert_false(parse_paserk_public("k3.public." + body).ok());
    assert_false(parse_paserk_public("k4.local." + body).ok());
    assert_false(parse_paserk_public("k4.secret." + body).ok());
    assert_false(parse_paserk_public("K4.PUBLIC." + body).ok());
    assert_false(parse_paserk_public(body).ok());
    assert_false(parse_paserk_secret("k4.public." + body).ok());
}

void test_parse_rejects_wrong_length_and_encoding(void**) {
    const std::string body = "cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
    assert_false(parse_paserk_public("k4.public." + body.substr(0, body.size() - 1)).ok());
    assert_false(parse_paserk_public("k4.public." + body + "AA").ok());
    assert_false(parse_paserk_public("k4.public." + body + "=").ok());
    assert_false(parse_paserk_public("k4.public." + body + "\n").ok());
    // Same bytes with set trailing bits: must not be a second spelling of the key.
    std::string noncanon = body;
    noncanon.back() = '9';
    assert_false(parse_paserk_public("k4.public." + noncanon).ok());
}

void test_secret_with_mismatched_public_half_is_rejected(void**) {
    SecretKey a = generate_secret_key();
    SecretKey b = generate_secret_key();
    uint8_t mixed[64];
    std::memcpy(mixed, a.bytes.data(), 32);
    std::memcpy(mixed + 32, b.bytes.data() + 32, 32);
    assert_false(secret_key_from_bytes(mixed, 64).ok());
    assert_false(parse_paserk_secret("k4.secret." + base64url_encode(mixed, 64)).ok());
}

void test_generated_key_round_trips(void**) {
    SecretKey sk = generate_secret_key();
    auto parsed = parse_paserk_secret(paserk_secret(sk));
    assert_true(parsed.ok());
    assert_memory_equal(parsed->bytes.data(), sk.bytes.data(), 64);
    auto pub = parse_paserk_public(paserk_public(sk.public_key()));
    assert_true(pub.ok());
    assert_true(*pub == sk.public_key());
    const std::string pid = paserk_pid(sk.public_key());
    assert_int_equal(pid.size(), 7 + 44);
    assert_true(pid.rfind("k4.pid.", 0) == 0);
}

void test_sodium_init_is_repeatable(void**) {
    ensure_sodium_initialized();
    ensure_sodium_initialized();
}

}  // namespace

int main(int argc, char** argv) {
    core_test::find_vectors(argc, argv);
    pub_vectors = core_test::load_vectors("k4.public.json");
    secret_vectors = core_test::load_vectors("k4.secret.json");
    pid_vectors = core_test::load_vectors("k4.pid.json");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_vectors_encode_and_decode),
        cmocka_unit_test(test_secret_vectors_encode_and_decode),
        cmocka_unit_test(test_pid_vectors),
        cmocka_unit_test(test_parse_rejects_wrong_version_or_type),
        cmocka_unit_test(test_parse_rejects_wrong_length_and_encoding),
        cmocka_unit_test(test_secret_with_mismatched_public_half_is_rejected),
        cmocka_unit_test(test_generated_key_round_trips),
        cmocka_unit_test(test_sodium_init_is_repeatable),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// names.h: every character-set and length rule, accepted and refused cases.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}
#include <sodium.h>

#include "names.h"

using namespace lockbox;

namespace {

struct Case {
    std::string text;
    bool valid;
};

void check(bool (*fn)(std::string_view), const std::vector<Case>& cases, const char* what) {
    for (const auto& c : cases) {
        if (fn(c.text) != c.valid)
            fail_msg("%s(\"%s\") should be %s", what, c.text.c_str(), c.valid ? "valid" : "invalid");
    }
}

std::string rep(char c, size_t n) { return std::string(n, c); }

// An OpenSSH key blob (a sequence of SSH strings), base64 as ssh-keygen writes it.
std::string ssh_body(const std::vector<std::string>& parts) {
    std::string blob;
    for (const auto& p : parts) {
        uint32_t n = static_cast<uint32_t>(p.size());
        blob += static_cast<char>(n >> 24);
        blob += static_cast<char>(n >> 16);
        blob += static_cast<char>(n >> 8);
        blob += static_cast<char>(n);
        blob += p;
    }
    std::string b64(sodium_base64_ENCODED_LEN(blob.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(blob.data()), blob.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    b64.resize(b64.size() - 1);  // the NUL
    return b64;
}

const std::string K32(32, '\x07');
const std::string POINT(65, '\x04');

const std::string ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPxmjHe+4+LQSVFqUZ1JV3wC/i0lDzlS60FxaXRT1MzW";
const std::string ECDSA256 =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMcpIpbPSakR+Xk/cn+Cu8JQB/"
    "E1LQcf0eg17h+Is8E04SiIDQjnwQxiE8fUK8ubqqPHxnohWnvh0d2oXTHCeg4=";
const std::string RSA =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDE0O3tVtTmXf1CJkgg6KsLp8WR1HCRHIVFn/2+BSwie7AojWRAUcnpiFUtb9ozI3VQmkzhs9"
    "JjImrxbgxD5uTPEBfNEIXlJxpOnfHtxI2s4rjTbUpadN5aPjLH22RA0ft4+CSf6VOxygwqODSfbCo6BXiPTJby00/5gVRKfujMaQ==";
const std::string ECDSA384 =
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDX0q0xqFBQ/"
    "pv8qARTypCf8i0FpoT4hMcmZT75enTmDHLu64tFhDwX8c61HfEcrpz5TIfBh1U0m6piMFsBhnqTug5Ke2j4TFCdS4qGMmMaydhdC7PbxeSuHo"
    "LGKBnDfEw==";

void test_user_names_follow_debian_useradd_rules(void**) {
    check(is_valid_user_name,
          {{"alice", true},
           {"_svc", true},
           {"a", true},
           {"bob-2", true},
           {"x_y-z9", true},
           {rep('a', 32), true},
           {rep('a', 33), false},
           {"", false},
           {"Alice", false},
           {"1alice", false},
           {"-alice", false},
           {"al.ice", false},
           {"alice$", false},
           {"al ice", false},
           {"root\n", false},
           {std::string("al\0ice", 6), false},
           {"élise", false}},
          "is_valid_user_name");
}

void test_host_names_follow_rfc1123_lowercase(void**) {
    std::string label63 = rep('a', 63);
    std::string long_name = label63 + "." + label63 + "." + label63 + "." + rep('b', 61);  // 253
    check(is_valid_host_name,
          {{"db01", true},
           {"db01.contoso.example", true},
           {"1host", true},
           {"a-b.c-d", true},
           {label63, true},
           {rep('a', 64), false},
           {long_name, true},
           {long_name + "c", false},
           {"", false},
           {"DB01", false},
           {"-db", false},
           {"db-", false},
           {"db..x", false},
           {".db", false},
           {"db.", false},
           {"db_01", false},
           {"db 01", false},
           {"db/01", false}},
          "is_valid_host_name");
}

void test_tenant_names_start_alnum_then_dot_dash_underscore(void**) {
    check(is_valid_tenant_name,
          {{"contoso", true},
           {"0day", true},
           {"con.toso_x-y", true},
           {rep('t', 64), true},
           {rep('t', 65), false},
           {"", false},
           {".contoso", false},
           {"_contoso", false},
           {"Contoso", false},
           {"con toso", false},
           {"con/toso", false}},
          "is_valid_tenant_name");
}

void test_tickets_are_printable_ascii_without_spaces(void**) {
    check(is_valid_ticket,
          {{"INC-12345", true},
           {"SR#991", true},
           {"!~", true},
           {rep('9', 64), true},
           {rep('9', 65), false},
           {"", false},
           {"INC 1", false},
           {"INC\t1", false},
           {"INC-1\n", false},
           {"T\x7f", false},
           {"T\xc3\xa9", false}},
          "is_valid_ticket");
}

void test_reasons_are_printable_utf8_without_controls(void**) {
    check(is_valid_reason,
          {{"disk full on /var, customer ticket 12", true},
           {"Datenbank h\xc3\xa4ngt", true},           // ä
           {"\xe2\x82\xac 5 \xf0\x9f\x94\xa5", true},  // € and an emoji
           {rep('r', 1024), true},
           {rep('r', 1025), false},
           {"", false},
           {"line\nbreak", false},
           {"tab\there", false},
           {"cr\r", false},
           {"esc \x1b[2J", false},
           {"del\x7f", false},
           {"c1 \xc2\x9b", false},               // U+009B CSI
           {"overlong \xc0\xaf", false},         // '/' spelled in two bytes
           {"surrogate \xed\xa0\x80", false},    // U+D800
           {"too big \xf4\x90\x80\x80", false},  // U+110000
           {"truncated \xe2\x82", false},
           {"stray \x80", false},
           {std::string("nul\0x", 5), false}},
          "is_valid_reason");
}

void test_ssh_keys_written_by_ssh_keygen_are_accepted(void**) {
    check(is_valid_ssh_public_key,
          {{ED25519, true},
           {ED25519 + " alice@laptop", true},
           {ED25519 + " alice laptop (2024)", true},
           {ECDSA256 + " ", true},  // ssh-keygen -C '' leaves the trailing space
           {RSA + " x", true},
           {ECDSA384, true},
           {"ssh-ed25519 " + ssh_body({"ssh-ed25519", K32}), true},
           {"ecdsa-sha2-nistp521 " + ssh_body({"ecdsa-sha2-nistp521", "nistp521", std::string(133, '\x04')}), true},
           {"sk-ssh-ed25519@openssh.com " + ssh_body({"sk-ssh-ed25519@openssh.com", K32, "ssh:"}), true},
           {"sk-ecdsa-sha2-nistp256@openssh.com " +
                ssh_body({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", POINT, "ssh:"}),
            true}},
          "is_valid_ssh_public_key");
}

void test_ssh_keys_refuse_bad_type_body_comment_and_size(void**) {
    std::string body = ED25519.substr(12);
    check(is_valid_ssh_public_key,
          {{"", false},
           {"ssh-ed25519", false},
           {"ssh-ed25519 ", false},
           {"ssh-dss " + ssh_body({"ssh-dss", "p", "q", "g", "y"}), false},  // retired type
           {"ssh-ed25519 " + ssh_body({"ssh-rsa", "\x01", K32}), false},     // embedded type differs
           {"ssh-ed25519 " + ssh_body({"ssh-ed25519"}), false},              // no key material
           {"ssh-ed25519 " + ssh_body({"ssh-ed25519", ""}), false},          // empty key
           {"ssh-ed25519 " + ssh_body({"ssh-ed25519", std::string(31, 'k')}), false},
           {"ssh-ed25519 " + ssh_body({"ssh-ed25519", K32, "extra"}), false},  // trailing field
           {"ecdsa-sha2-nistp256 " + ssh_body({"ecdsa-sha2-nistp256", "nistp384", POINT}), false},
           {"sk-ssh-ed25519@openssh.com " + ssh_body({"sk-ssh-ed25519@openssh.com", K32}), false},
           {"ssh-rsa " + body, false},       // stated type differs
           {"ssh-ed25519  " + body, false},  // two spaces
           {"ssh-ed25519\t" + body, false},
           {"command=\"x\" " + ED25519, false},                                   // options prefix
           {ED25519.substr(0, ED25519.size() - 1), false},                        // truncated base64
           {ED25519.substr(0, ED25519.size() - 4), false},                        // decodes, but the key is cut short
           {"ssh-ed25519 " + body.substr(0, 40) + "*" + body.substr(41), false},  // not base64
           {ECDSA256.substr(0, ECDSA256.size() - 1), false},                      // padding removed
           {ECDSA256 + "=", false},                                               // extra padding
           {ED25519 + " bad\ncomment", false},
           {ED25519 + "\n", false},
           {ED25519 + " tab\tcomment", false},
           {ED25519 + std::string(" nul\0", 5), false},
           {"SSH-ED25519 " + body, false},
           {ED25519 + " " + rep('c', MAX_SSH_KEY), false}},
          "is_valid_ssh_public_key");
}

void test_uuids_must_be_canonical_lowercase(void**) {
    check(is_valid_uuid,
          {{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
           {"00000000-0000-0000-0000-000000000000", true},
           {"0F8FAD5B-D9CB-469F-A165-70867728950E", false},
           {"0f8fad5bd9cb469fa16570867728950e", false},
           {"0f8fad5b-d9cb-469f-a165-70867728950", false},
           {"0f8fad5b-d9cb-469f-a165-70867728950e0", false},
           {"{0f8fad5b-d9cb-469f-a165-70867728950e}", false},
           {"0f8fad5b-d9cb-469f-a165_70867728950e", false},
           {"0f8fad5g-d9cb-469f-a165-70867728950e", false},
           {"", false}},
          "is_valid_uuid");
}

}  // namespace

int main() {
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_names_follow_debian_useradd_rules),
        cmocka_unit_test(test_host_names_follow_rfc1123_lowercase),
        cmocka_unit_test(test_tenant_names_start_alnum_then_dot_dash_underscore),
        cmocka_unit_test(test_tickets_are_printable_ascii_without_spaces),
        cmocka_unit_test(test_reasons_are_printable_utf8_without_controls),
        cmocka_unit_test(test_ssh_keys_written_by_ssh_keygen_are_accepted),
        cmocka_unit_test(test_ssh_keys_refuse_bad_type_body_comment_and_size),
        cmocka_unit_test(test_uuids_must_be_canonical_lowercase),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// Boundary validation of a new request and of the other method arguments: each
// bad input is refused as invalid-argument with a message naming the argument.
#include <functional>

#include "approvald_test.h"
#include "../errc_assert.h"

using namespace approvald_test;

namespace {

constexpr usec_t MAX = 4 * HOUR;

void expect_refused(const NewRequest& n, const char* argument) {
    auto s = validate_new_request(n, "contoso", MAX);
    if (s.ok())
        fail_msg("expected %s to be refused", argument);
    assert_errc(s.error().code, lockbox::Errc::InvalidArgument);
    if (!strstr(s.error().message.c_str(), argument))
        fail_msg("message '%s' does not name %s", s.error().message.c_str(), argument);
}

NewRequest with(const std::function<void(NewRequest&)>& change) {
    NewRequest n = new_request();
    change(n);
    return n;
}

void test_valid_request_passes(void**) { assert_true(validate_new_request(new_request(), "contoso", MAX).ok()); }

void test_duration_zero_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.duration_sec = 0; }), "duration");
}

void test_duration_negative_is_refused(void**) {
    // A negative number sent as the bus's unsigned t arrives huge.
    expect_refused(with([](NewRequest& n) { n.duration_sec = static_cast<uint64_t>(-3600); }), "duration");
}

void test_duration_over_maximum_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.duration_sec = 4 * 3600 + 1; }), "duration");
    assert_true(validate_new_request(with([](NewRequest& n) { n.duration_sec = 4 * 3600; }), "contoso", MAX).ok());
    assert_true(validate_new_request(with([](NewRequest& n) { n.duration_sec = 1; }), "contoso", MAX).ok());
}

void test_duration_on_approval(void**) {
    assert_false(validate_duration(0, MAX).ok());
    assert_false(validate_duration(4 * 3600 + 1, MAX).ok());
    assert_true(validate_duration(60, MAX).ok());
}

void test_unknown_tenant_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.tenant = "fabrikam"; }), "unknown tenant");
    expect_refused(with([](NewRequest& n) { n.tenant = ""; }), "tenant");
    expect_refused(with([](NewRequest& n) { n.tenant = "Con toso"; }), "tenant");
}

void test_bad_ticket_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.ticket = ""; }), "ticket");
    expect_refused(with([](NewRequest& n) { n.ticket = "INC 1"; }), "ticket");
    expect_refused(with([](NewRequest& n) { n.ticket = std::string(MAX_TICKET + 1, 'A'); }), "ticket");
}

void test_bad_host_names_are_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.hosts = {}; }), "hosts");
    expect_refused(with([](NewRequest& n) { n.hosts = {"db01", "bad host"}; }), "hosts");
    expect_refused(with([](NewRequest& n) { n.hosts = {"-db01"}; }), "hosts");
    expect_refused(with([](NewRequest& n) { n.hosts = {"db01;rm"}; }), "hosts");
    expect_refused(with([](NewRequest& n) { n.hosts = std::vector<std::string>{std::string(MAX_HOST_NAME + 1, 'a')}; }),
                   "hosts");
    expect_refused(with([](NewRequest& n) { n.hosts = {"db01", "db01"}; }), "twice");
    expect_refused(with([](NewRequest& n) { n.hosts = std::vector<std::string>(MAX_HOSTS + 1, "h"); }), "hosts");
}

void test_bad_ssh_keys_are_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {"not a key"}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {"ssh-ed25519 !!!notbase64"}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {"command=\"sh\" " + KEY}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {KEY + "\nssh-ed25519 AAAA"}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = {"-----BEGIN OPENSSH PRIVATE KEY-----"}; }), "ssh_keys");
    expect_refused(with([](NewRequest& n) { n.ssh_keys = std::vector<std::string>(MAX_SSH_KEYS + 1, KEY); }),
                   "ssh_keys");
}

void test_bad_reason_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.reason = ""; }), "reason");
    expect_refused(with([](NewRequest& n) { n.reason = std::string(MAX_REASON + 1, 'x'); }), "reason");
    expect_refused(with([](NewRequest& n) { n.reason = "line\nBcc: evil@example.com"; }), "reason");
    expect_refused(with([](NewRequest& n) { n.reason = std::string("nul\0byte", 8); }), "reason");
}

void test_bad_engineer_is_refused(void**) {
    expect_refused(with([](NewRequest& n) { n.engineer = "Eve"; }), "engineer");
    expect_refused(with([](NewRequest& n) { n.engineer = "eve smith"; }), "engineer");
    expect_refused(with([](NewRequest& n) { n.engineer = std::string(MAX_USER_NAME + 1, 'e'); }), "engineer");
    assert_true(validate_new_request(with([](NewRequest& n) { n.engineer = "eve"; }), "contoso", MAX).ok());
}

void test_ids_comments_and_state_filters(void**) {
    assert_true(validate_request_id(ID).ok());
    assert_false(validate_request_id("3F1C2A9E-8B7D-4C6E-9A5F-1E2D3C4B5A69").ok());
    assert_false(validate_request_id("../../etc/passwd").ok());
    assert_false(validate_request_id("").ok());
    assert_true(validate_text("comment", "", MAX_COMMENT, false).ok());
    assert_false(validate_text("reason", "", MAX_REASON, true).ok());
    assert_false(validate_text("comment", std::string(MAX_COMMENT + 1, 'c'), MAX_COMMENT, false).ok());
    assert_true(validate_state_filter("").ok());
    assert_true(validate_state_filter("completed").ok());
    assert_false(validate_state_filter("finished").ok());
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_request_passes),         cmocka_unit_test(test_duration_zero_is_refused),
        cmocka_unit_test(test_duration_negative_is_refused), cmocka_unit_test(test_duration_over_maximum_is_refused),
        cmocka_unit_test(test_duration_on_approval),         cmocka_unit_test(test_unknown_tenant_is_refused),
        cmocka_unit_test(test_bad_ticket_is_refused),        cmocka_unit_test(test_bad_host_names_are_refused),
        cmocka_unit_test(test_bad_ssh_keys_are_refused),     cmocka_unit_test(test_bad_reason_is_refused),
        cmocka_unit_test(test_bad_engineer_is_refused),      cmocka_unit_test(test_ids_comments_and_state_filters),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

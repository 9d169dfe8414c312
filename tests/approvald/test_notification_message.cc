// The e-mails: the approvers' message carries tenant, ticket, engineer, hosts,
// duration, reason and how to approve; the engineer hears of approval, denial
// and expiry; no mail without recipients.
#include "approvald_test.h"
#include "notification_message.h"
#include "time_format.h"

using namespace approvald_test;

namespace {

Config config() {
    Config c;
    c.tenant = "contoso";
    c.approver_emails = {"ciso@contoso.example", "ops@contoso.example"};
    c.mail_domain = "provider.example";
    return c;
}

Request pending_approver() {
    auto r = create_request(new_request(), eve(), ID, policy(), T0);
    auto m = approve_request(*r, alice(), 0, "", policy(), T0 + 1);
    return *m;
}

void test_approver_mail_carries_every_detail_and_how_to_approve(void**) {
    auto m = approver_mail(pending_approver(), config());
    assert_true(m.has_value());
    const std::string text = render_mail(*m, T0);
    for (const char* needle :
         {"To: ciso@contoso.example, ops@contoso.example\n", "contoso", "INC-1234", "eve", "db01, db02.contoso.example",
          "2h", "disk full on db01", "lockboxctl request approve 3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69",
          "lockboxctl request deny", "alice"})
        if (!strstr(text.c_str(), needle))
            fail_msg("approver mail lacks '%s':\n%s", needle, text.c_str());
    assert_non_null(strstr(m->subject.c_str(), "INC-1234"));
    // The level stands in the subject and under the engineer.
    assert_non_null(strstr(m->subject.c_str(), "user access request"));
    assert_non_null(strstr(text.c_str(), "Engineer:  eve\nAccess:    user\n"));
}

void test_engineer_mail_says_when_the_level_was_lowered(void**) {
    Request p = pending_approver();
    p.requested_access = "admin";
    p.access = "admin";
    auto approved = approve_request(p, bob(), 0, "", policy(), T0 + 2);
    assert_true(approved.ok());
    approved->access = "user";
    auto m = engineer_mail(*approved, config());
    assert_non_null(strstr(m->body.c_str(), "Access:    user (requested admin)\n"));
}

// The approver sees when a later start puts the window; without one, no line.
void test_approver_mail_names_a_later_start(void**) {
    NewRequest n = new_request();
    n.start_usec = static_cast<uint64_t>(T0 + 48 * HOUR);
    auto r = create_request(n, eve(), ID, policy(), T0);
    auto m = approver_mail(*approve_request(*r, alice(), 0, "", policy(), T0 + 1), config());
    assert_true(m.has_value());
    const std::string text = render_mail(*m, T0);
    const std::string line = "Starts:    " + lockbox::format_rfc3339(T0 + 48 * HOUR);
    if (!strstr(text.c_str(), line.c_str()))
        fail_msg("approver mail lacks '%s':\n%s", line.c_str(), text.c_str());
    assert_null(strstr(render_mail(*approver_mail(pending_approver(), config()), T0).c_str(), "Starts:"));
}

void test_no_approver_mail_without_recipients(void**) {
    Config c = config();
    c.approver_emails.clear();
    assert_false(approver_mail(pending_approver(), c).has_value());
}

void test_engineer_hears_of_approval_denial_and_expiry(void**) {
    Request p = pending_approver();
    auto approved = approve_request(p, bob(), 0, "", policy(), T0 + 2);
    auto m = engineer_mail(*approved, config());
    assert_true(m.has_value());
    assert_string_equal(m->kind.c_str(), "approved");
    assert_string_equal(m->to[0].c_str(), "eve@provider.example");
    auto denied = deny_request(p, bob(), "not today", policy(), T0 + 2);
    m = engineer_mail(*denied, config());
    assert_string_equal(m->kind.c_str(), "denied");
    assert_non_null(strstr(m->body.c_str(), "not today"));
    auto expired = expire_if_due(p, p.pending_until);
    m = engineer_mail(*expired, config());
    assert_string_equal(m->kind.c_str(), "expired");
    assert_false(engineer_mail(p, config()).has_value());  // pending: nothing to tell
    Config no_domain = config();
    no_domain.mail_domain.clear();
    assert_false(engineer_mail(*approved, no_domain).has_value());
}

void test_headers_have_no_injected_lines(void**) {
    auto m = approver_mail(pending_approver(), config());
    const std::string text = render_mail(*m, T0);
    const std::string headers = text.substr(0, text.find("\n\n"));
    assert_null(strstr(headers.c_str(), "Bcc"));
    assert_non_null(strstr(headers.c_str(), "Date: "));
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approver_mail_carries_every_detail_and_how_to_approve),
        cmocka_unit_test(test_no_approver_mail_without_recipients),
        cmocka_unit_test(test_engineer_hears_of_approval_denial_and_expiry),
        cmocka_unit_test(test_engineer_mail_says_when_the_level_was_lowered),
        cmocka_unit_test(test_headers_have_no_injected_lines),
        cmocka_unit_test(test_approver_mail_names_a_later_start),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// audit.h: the exact fields of a record (docs/design.md §7), field-name hygiene, and
// that send() reports a journald it cannot reach instead of losing the record.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <unistd.h>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "audit.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

void assert_fields(const AuditRecord& r, const std::vector<std::string>& want) {
    auto got = r.fields();
    for (size_t i = 0; i < got.size() || i < want.size(); i++) {
        const char* g = i < got.size() ? got[i].c_str() : "(missing)";
        const char* w = i < want.size() ? want[i].c_str() : "(none)";
        if (std::string(g) != w)
            fail_msg("field %zu: got \"%s\", want \"%s\"", i, g, w);
    }
}

int set_identity(void**) {
    set_audit_identity("lockbox-approvald", "db01");
    return 0;
}

void test_fields_carry_fixed_order_and_every_request_field(void**) {
    AuditRecord r(AuditEvent::ApproverApproved, "carol");
    r.message("carol approved request 1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        .request("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "contoso", "INC-42", "eve")
        .field("REASON", "disk full");
    assert_fields(r, {
                         "MESSAGE_ID=1d449b36ec414777b34524039f520f9b",
                         "MESSAGE=carol approved request 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                         "PRIORITY=5",
                         "SYSLOG_IDENTIFIER=lockbox-approvald",
                         "LOCKBOX_EVENT=approver-approved",
                         "LOCKBOX_ACTOR=carol",
                         "LOCKBOX_HOST=db01",
                         "LOCKBOX_REQUEST_ID=1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                         "LOCKBOX_TENANT=contoso",
                         "LOCKBOX_TICKET=INC-42",
                         "LOCKBOX_ENGINEER=eve",
                         "LOCKBOX_REASON=disk full",
                     });
}

void test_every_event_has_its_message_id_and_name(void**) {
    for (const auto& info : AUDIT_EVENTS) {
        AuditRecord r(info.event, "lockboxd");
        auto f = r.fields();
        assert_string_equal(f[0].c_str(), ("MESSAGE_ID=" + std::string(info.message_id)).c_str());
        assert_string_equal(f[4].c_str(), ("LOCKBOX_EVENT=" + std::string(info.name)).c_str());
        assert_int_equal(info.message_id.size(), 32);
    }
}

void test_default_message_names_event_and_actor(void**) {
    AuditRecord r(AuditEvent::SessionKilled, "lockboxd");
    r.priority(4).field("session_id", "c7").field("DELAY_MS", "120").field("pids", "10 11");
    assert_fields(r, {
                         "MESSAGE_ID=a1de6ee826174896a37a26572820c9b4",
                         "MESSAGE=lockbox session-killed by lockboxd",
                         "PRIORITY=4",
                         "SYSLOG_IDENTIFIER=lockbox-approvald",
                         "LOCKBOX_EVENT=session-killed",
                         "LOCKBOX_ACTOR=lockboxd",
                         "LOCKBOX_HOST=db01",
                         "LOCKBOX_SESSION_ID=c7",
                         "LOCKBOX_DELAY_MS=120",
                         "LOCKBOX_PIDS=10 11",
                     });
}

void test_field_names_are_restricted_and_values_kept_verbatim(void**) {
    AuditRecord r(AuditEvent::CallRefused, "mallory");
    r.field("reason", "line1\nline2 %s %n")    // newlines and '%' are data
        .field("LOCKBOX_AUDIT_SESSION", "7")   // prefix not doubled
        .field("bad name=x", "v")              // '=' and ' ' cannot reach journald
        .field("_PID", "1")                    // cannot forge a trusted field
        .field("reason", "replaced")           // one value per field
        .field("EVENT", "grant-issued")        // cannot rewrite the fixed fields
        .field(std::string(100, 'x'), "long")  // journald's 64-character limit
        .priority(99);                         // clamped to LOG_DEBUG
    auto f = r.fields();
    assert_fields(r, {
                         "MESSAGE_ID=5dd378befa4c49a381ec4117ef236175",
                         "MESSAGE=lockbox call-refused by mallory",
                         "PRIORITY=7",
                         "SYSLOG_IDENTIFIER=lockbox-approvald",
                         "LOCKBOX_EVENT=call-refused",
                         "LOCKBOX_ACTOR=mallory",
                         "LOCKBOX_HOST=db01",
                         "LOCKBOX_REASON=replaced",
                         "LOCKBOX_AUDIT_SESSION=7",
                         "LOCKBOX_BAD_NAME_X=v",
                         "LOCKBOX__PID=1",
                         "LOCKBOX_" + std::string(56, 'X') + "=long",
                     });
    for (const auto& field : f) {
        auto name = field.substr(0, field.find('='));
        assert_true(name.size() <= 64);
        for (char c : name)
            assert_true((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    }
    AuditRecord nl(AuditEvent::CallRefused, "x");
    nl.field("REASON", "a\nb");
    assert_string_equal(nl.fields().back().c_str(), "LOCKBOX_REASON=a\nb");
}

void test_identity_is_per_process_and_replaceable(void**) {
    set_audit_identity("pam_lockbox", "web7");
    auto f = AuditRecord(AuditEvent::AccessDenied, "eve").fields();
    assert_string_equal(f[3].c_str(), "SYSLOG_IDENTIFIER=pam_lockbox");
    assert_string_equal(f[6].c_str(), "LOCKBOX_HOST=web7");
    set_audit_identity("lockbox-approvald", "db01");
}

void test_send_reports_unreachable_journald(void**) {
    // Only meaningful where no journald listens; the integration test covers
    // the reachable case.
    if (access("/run/systemd/journal/socket", F_OK) == 0)
        skip();
    auto s = AuditRecord(AuditEvent::GrantIssued, "carol").send();
    assert_false(s.ok());
    assert_errc(s.error().code, lockbox::Errc::JournalUnavailable);
    assert_non_null(std::strstr(s.error().message.c_str(), "grant-issued"));
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fields_carry_fixed_order_and_every_request_field, set_identity),
        cmocka_unit_test_setup(test_every_event_has_its_message_id_and_name, set_identity),
        cmocka_unit_test_setup(test_default_message_names_event_and_actor, set_identity),
        cmocka_unit_test_setup(test_field_names_are_restricted_and_values_kept_verbatim, set_identity),
        cmocka_unit_test_setup(test_identity_is_per_process_and_replaceable, set_identity),
        cmocka_unit_test(test_send_reports_unreachable_journald),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

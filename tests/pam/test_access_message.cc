// pam_lockbox/access_message.cc: what a refused or admitted person reads.
#include <cstdlib>
#include <ctime>
#include <string>

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
}

#include "access_message.h"

using namespace lockbox;
using namespace lockbox::pam;

namespace {

const Target target{"eng-carol", "contoso", "db01"};

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

void test_denial_names_tenant_host_and_reason(void**) {
    auto m = denied_message(target, "expired");
    assert_true(contains(m, "approved Lockbox request for tenant contoso on host db01"));
    assert_true(contains(m, "your grant has expired"));
    assert_true(contains(m, "reason: expired"));
    assert_false(contains(m, "unavailable"));
}

void test_unavailable_differs_from_denial(void**) {
    auto m = unavailable_message(target);
    assert_true(contains(m, "tenant contoso on host db01"));
    assert_true(contains(m, "Lockbox is unavailable on this host (lockboxd not reachable)"));
    assert_false(contains(m, "No grant"));
}

void test_every_documented_reason_has_a_sentence(void**) {
    for (const char* r :
         {"no-grant", "not-yet-valid", "expired", "revoked", "wrong-host", "not-managed", "name-conflict"})
        assert_false(contains(reason_text(r), "access refused ("));
    assert_true(contains(reason_text("quota"), "access refused (quota)"));
}

void test_missing_tenant_is_said_not_left_blank(void**) {
    auto m = unavailable_message(Target{"eng-carol", "", ""});
    assert_true(contains(m, "(unknown tenant)"));
    assert_true(contains(m, "(unknown host)"));
}

void test_session_message_gives_local_time_and_utc(void**) {
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    // 2026-11-29T21:45:00Z is 22:45 in Berlin (CET, UTC+1).
    usec_t t = 1795988700LL * USEC_PER_SEC;
    auto m = session_opened_message("5f0c6b1e-7d7a-4c55-9a51-3c1e2f6d8a90", "INC-4711", t);
    assert_true(contains(m, "request 5f0c6b1e-7d7a-4c55-9a51-3c1e2f6d8a90"));
    assert_true(contains(m, "ticket INC-4711"));
    assert_true(contains(m, "2026-11-29 22:45:00 CET (2026-11-29 21:45:00 UTC)"));
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_denial_names_tenant_host_and_reason),
        cmocka_unit_test(test_unavailable_differs_from_denial),
        cmocka_unit_test(test_every_documented_reason_has_a_sentence),
        cmocka_unit_test(test_missing_tenant_is_said_not_left_blank),
        cmocka_unit_test(test_session_message_gives_local_time_and_utc),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

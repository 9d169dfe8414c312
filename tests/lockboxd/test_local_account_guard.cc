// The local-account guard: lockbox is cut out of this process's NSS lists and
// names or uids of other sources are refused.

#include "local_account_guard.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

using namespace lockboxd;

namespace {

constexpr uint32_t MIN = 2100000000, MAX = 2100099999;

void test_lockbox_service_is_removed_with_its_actions(void**) {
    assert_string_equal(services_without_lockbox(" files lockbox systemd").c_str(), "files systemd");
    assert_string_equal(services_without_lockbox("files lockbox [NOTFOUND=return] sss").c_str(), "files sss");
    assert_string_equal(services_without_lockbox("files [SUCCESS=return] lockbox").c_str(), "files [SUCCESS=return]");
    assert_string_equal(services_without_lockbox("lockbox").c_str(), "files");
    assert_string_equal(services_without_lockbox("files systemd").c_str(), "files systemd");
}

void test_root_name_is_a_local_account(void**) {
    auto st = check_no_local_account("root", MIN + 5, MIN, MAX);
    assert_false(st.ok());
    assert_string_equal(st.error().code.c_str(), "local-account");
}

void test_unknown_name_in_range_is_accepted(void**) {
    assert_true(check_no_local_account("lbx-nobody-here", MIN + 7, MIN, MAX).ok());
}

void test_uid_of_a_local_account_is_refused(void**) {
    // uid 0 resolves to root in every NSS setup.
    assert_false(check_no_local_account("lbx-nobody-here", 0, MIN, MAX).ok());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockbox_service_is_removed_with_its_actions),
        cmocka_unit_test(test_root_name_is_a_local_account),
        cmocka_unit_test(test_unknown_name_in_range_is_accepted),
        cmocka_unit_test(test_uid_of_a_local_account_is_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

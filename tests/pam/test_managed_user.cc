// pam_lockbox/managed_user.cc: who is gated. Users come from nss_wrapper
// (tests/pam/passwd and group), preloaded by meson.
#include <cstdlib>

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
}

#include "managed_user.h"

using namespace lockbox;
using namespace lockbox::pam;

namespace {

Config config() {
    Config c;
    c.uid_min = 2100000000;
    c.uid_max = 2100099999;
    return c;
}

Membership classify(const char* user, const char* group = "") {
    auto m = classify_user(user, config(), group);
    if (!m)
        fail_msg("%s: %s", user, m.error().message.c_str());
    return *m;
}

void test_uid_inside_range_is_managed(void**) {
    assert_int_equal(static_cast<int>(classify("eng-carol")), static_cast<int>(Membership::lockbox_range));
}

void test_local_user_outside_range_is_unmanaged(void**) {
    assert_int_equal(static_cast<int>(classify("alice")), static_cast<int>(Membership::unmanaged));
}

void test_gate_group_member_is_managed_only_when_configured(void**) {
    assert_int_equal(static_cast<int>(classify("opsbob")), static_cast<int>(Membership::unmanaged));
    assert_int_equal(static_cast<int>(classify("opsbob", "gated-ops")), static_cast<int>(Membership::gate_group));
    assert_int_equal(static_cast<int>(classify("alice", "gated-ops")), static_cast<int>(Membership::unmanaged));
}

void test_missing_gate_group_gates_nobody(void**) {
    assert_int_equal(static_cast<int>(classify("opsbob", "no-such-group")), static_cast<int>(Membership::unmanaged));
}

void test_unknown_user_is_unmanaged(void**) {
    assert_int_equal(static_cast<int>(classify("ghost")), static_cast<int>(Membership::unmanaged));
}

void test_root_is_never_gated(void**) {
    Config c = config();
    c.uid_min = 0;
    auto m = classify_user("root", c, "root");
    assert_true(m.ok());
    assert_int_equal(static_cast<int>(*m), static_cast<int>(Membership::unmanaged));
}

void test_range_edges_are_inclusive(void**) {
    Config c = config();
    c.uid_min = 2100000001;
    c.uid_max = 2100000001;
    assert_int_equal(static_cast<int>(*classify_user("eng-carol", c, "")), static_cast<int>(Membership::lockbox_range));
    c.uid_min = 2100000002;
    c.uid_max = 2100000009;
    assert_int_equal(static_cast<int>(*classify_user("eng-carol", c, "")), static_cast<int>(Membership::unmanaged));
}

}  // namespace

int main() {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtime must come first in the library list; the
    // LD_PRELOADed cwrap wrappers this test needs cannot coexist with it.
    return 77;
#endif
    if (getenv("NSS_WRAPPER_PASSWD") == nullptr)
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_inside_range_is_managed),
        cmocka_unit_test(test_local_user_outside_range_is_unmanaged),
        cmocka_unit_test(test_gate_group_member_is_managed_only_when_configured),
        cmocka_unit_test(test_missing_gate_group_gates_nobody),
        cmocka_unit_test(test_unknown_user_is_unmanaged),
        cmocka_unit_test(test_root_is_never_gated),
        cmocka_unit_test(test_range_edges_are_inclusive),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

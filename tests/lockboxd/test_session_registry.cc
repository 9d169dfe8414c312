// SessionRegistry: ids, lookups, the change set persistence writes and the
// restore a restart does.

#include "session_registry.h"

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

Session sample(const std::string& user) {
    Session s;
    s.user = user;
    s.uid = 2100000001;
    s.pid = 1234;
    s.tty = "pts/3";
    s.rhost = "10.0.0.1";
    s.logind_session = "c7";
    s.grant_id = "g1";
    s.audit_session = 42;
    s.opened_at = 1;
    return s;
}

void test_add_assigns_unique_random_ids(void**) {
    SessionRegistry r;
    auto a = r.add(sample("eng")), b = r.add(sample("eng"));
    assert_int_equal(a.size(), 32);
    assert_string_not_equal(a.c_str(), b.c_str());
    assert_int_equal(r.of_user("eng").size(), 2);
    assert_int_equal(r.of_user("other").size(), 0);
}

void test_remove_returns_the_session_once(void**) {
    SessionRegistry r;
    auto id = r.add(sample("eng"));
    assert_true(r.remove(id).has_value());
    assert_false(r.remove(id).has_value());
}

void test_changes_are_the_added_and_removed_ids(void**) {
    SessionRegistry r;
    auto a = r.add(sample("eng")), b = r.add(sample("eng"));
    assert_int_equal(r.changes().written.size(), 2);
    r.clear_changes();
    assert_true(r.changes().empty());
    auto c = r.add(sample("eng2"));
    r.remove(a);
    assert_int_equal(r.changes().written.size(), 1);
    assert_int_equal(r.changes().written.count(c), 1);
    assert_int_equal(r.changes().removed.size(), 1);
    assert_int_equal(r.changes().removed.count(a), 1);
    assert_int_equal(r.changes().removed.count(b), 0);
    // Added and removed before any write: the row is deleted, never written.
    r.remove(c);
    assert_int_equal(r.changes().written.count(c), 0);
    assert_int_equal(r.changes().removed.count(c), 1);
}

void test_restore_keeps_valid_sessions_and_drops_bad_ones(void**) {
    SessionRegistry r;
    Session good = sample("eng");
    good.id = "0123456789abcdef0123456789abcdef";
    Session short_id = sample("eng");
    short_id.id = "x";
    Session bad_user = sample("Bad User");
    bad_user.id = "fedcba9876543210fedcba9876543210";
    auto problems = r.restore({good, short_id, bad_user});
    assert_int_equal(problems.size(), 2);
    assert_int_equal(r.size(), 1);
    const Session* s = r.find(good.id);
    assert_non_null(s);
    assert_string_equal(s->tty.c_str(), "pts/3");
    assert_int_equal(s->audit_session, 42);
    assert_int_equal(s->pid, 1234);
    // The bad rows are deleted by the next write; the good one is not rewritten.
    assert_true(r.changes().written.empty());
    assert_int_equal(r.changes().removed.size(), 2);
    assert_int_equal(r.changes().removed.count("x"), 1);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_assigns_unique_random_ids),
        cmocka_unit_test(test_remove_returns_the_session_once),
        cmocka_unit_test(test_changes_are_the_added_and_removed_ids),
        cmocka_unit_test(test_restore_keeps_valid_sessions_and_drops_bad_ones),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// SessionRegistry: ids, lookups and the persisted form a restart reloads.

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

void test_persisted_sessions_reload_identically(void**) {
    SessionRegistry r;
    auto id = r.add(sample("eng"));
    SessionRegistry back;
    assert_true(back.load_json(r.to_json()).ok());
    const Session* s = back.find(id);
    assert_non_null(s);
    assert_string_equal(s->tty.c_str(), "pts/3");
    assert_int_equal(s->audit_session, 42);
    assert_int_equal(s->pid, 1234);
}

void test_damaged_session_file_is_refused(void**) {
    SessionRegistry r;
    assert_false(r.load_json("{}").ok());
    assert_false(r.load_json(R"({"sessions":[{"id":"x"}]})").ok());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_assigns_unique_random_ids),
        cmocka_unit_test(test_remove_returns_the_session_once),
        cmocka_unit_test(test_persisted_sessions_reload_identically),
        cmocka_unit_test(test_damaged_session_file_is_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

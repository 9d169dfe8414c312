// UidAllocator: uids inside the range, stable per name, across reloads.

#include <set>

#include "uid_allocator.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
#include "../errc_assert.h"

using lockboxd::UidAllocator;

namespace {

constexpr uint32_t MIN = 2100000000, MAX = 2100099999;

void test_allocation_stays_in_range_and_is_stable(void**) {
    UidAllocator a(MIN, MAX);
    auto u = a.allocate("alice");
    assert_true(u.ok());
    assert_true(*u >= MIN && *u <= MAX);
    assert_int_equal(*a.allocate("alice"), *u);
}

void test_different_names_get_different_uids(void**) {
    UidAllocator a(MIN, MIN + 99);
    std::set<uint32_t> seen;
    for (int i = 0; i < 100; i++)
        seen.insert(*a.allocate("eng" + std::to_string(i)));
    assert_int_equal(seen.size(), 100);
}

void test_exhausted_range_is_an_error(void**) {
    UidAllocator a(MIN, MIN + 1);
    assert_true(a.allocate("a").ok());
    assert_true(a.allocate("b").ok());
    auto c = a.allocate("c");
    assert_false(c.ok());
    assert_errc(c.error().code, lockbox::Errc::UidRangeExhausted);
}

void test_uids_survive_reload(void**) {
    UidAllocator a(MIN, MAX);
    uint32_t alice = *a.allocate("alice"), bob = *a.allocate("bob");
    UidAllocator b(MIN, MAX);
    assert_true(b.restore(a.added()).ok());
    assert_int_equal(*b.find("alice"), alice);
    assert_int_equal(*b.find("bob"), bob);
    assert_string_equal(b.name_of(bob)->c_str(), "bob");
    assert_true(b.added().empty());  // restored, not new
}

void test_added_lists_new_mappings_until_cleared(void**) {
    UidAllocator a(MIN, MAX);
    uint32_t alice = *a.allocate("alice");
    a.clear_added();
    assert_int_equal(*a.allocate("alice"), alice);  // known: not added again
    assert_true(a.added().empty());
    uint32_t bob = *a.allocate("bob");
    auto added = a.added();
    assert_int_equal(added.size(), 1);
    assert_string_equal(added[0].first.c_str(), "bob");
    assert_int_equal(added[0].second, bob);
}

void test_release_forgets_an_unpersisted_uid(void**) {
    UidAllocator a(MIN, MAX);
    uint32_t carol = *a.allocate("carol");
    a.release("carol");
    assert_false(a.find("carol").has_value());
    assert_false(a.name_of(carol).has_value());
    assert_true(a.added().empty());
    assert_int_equal(*a.allocate("carol"), carol);
}

void test_same_name_gets_same_uid_even_without_the_map(void**) {
    UidAllocator a(MIN, MAX), b(MIN, MAX);
    assert_int_equal(*a.allocate("carol"), *b.allocate("carol"));
}

void test_restore_refuses_out_of_range_and_duplicates(void**) {
    UidAllocator a(MIN, MAX);
    assert_false(a.restore({{"alice", 1000}}).ok());
    assert_false(a.restore({{"alice", 2100000001}, {"bob", 2100000001}}).ok());
    assert_false(a.restore({{"alice", 2100000001}, {"alice", 2100000002}}).ok());
    assert_false(a.restore({{"Bad Name", 2100000001}}).ok());
    // Refused as a whole: nothing of the damaged map is half-loaded.
    assert_true(a.restore({{"dave", 2100000003}}).ok());
    assert_false(a.restore({{"erin", 2100000004}, {"frank", 7}}).ok());
    assert_true(a.find("dave").has_value());
    assert_false(a.find("erin").has_value());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_stays_in_range_and_is_stable),
        cmocka_unit_test(test_different_names_get_different_uids),
        cmocka_unit_test(test_exhausted_range_is_an_error),
        cmocka_unit_test(test_uids_survive_reload),
        cmocka_unit_test(test_added_lists_new_mappings_until_cleared),
        cmocka_unit_test(test_release_forgets_an_unpersisted_uid),
        cmocka_unit_test(test_same_name_gets_same_uid_even_without_the_map),
        cmocka_unit_test(test_restore_refuses_out_of_range_and_duplicates),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

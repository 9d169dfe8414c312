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
    assert_string_equal(c.error().code.c_str(), "uid-range-exhausted");
}

void test_uids_survive_reload(void**) {
    UidAllocator a(MIN, MAX);
    uint32_t alice = *a.allocate("alice"), bob = *a.allocate("bob");
    UidAllocator b(MIN, MAX);
    assert_true(b.load_json(a.to_json()).ok());
    assert_int_equal(*b.find("alice"), alice);
    assert_int_equal(*b.find("bob"), bob);
    assert_string_equal(b.name_of(bob)->c_str(), "bob");
}

void test_same_name_gets_same_uid_even_without_the_map(void**) {
    UidAllocator a(MIN, MAX), b(MIN, MAX);
    assert_int_equal(*a.allocate("carol"), *b.allocate("carol"));
}

void test_load_refuses_out_of_range_and_duplicates(void**) {
    UidAllocator a(MIN, MAX);
    assert_false(a.load_json(R"({"uids":{"alice":1000}})").ok());
    assert_false(a.load_json(R"({"uids":{"alice":2100000001,"bob":2100000001}})").ok());
    assert_false(a.load_json(R"({"uids":{"Bad Name":2100000001}})").ok());
    assert_false(a.load_json("garbage").ok());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_stays_in_range_and_is_stable),
        cmocka_unit_test(test_different_names_get_different_uids),
        cmocka_unit_test(test_exhausted_range_is_an_error),
        cmocka_unit_test(test_uids_survive_reload),
        cmocka_unit_test(test_same_name_gets_same_uid_even_without_the_map),
        cmocka_unit_test(test_load_refuses_out_of_range_and_duplicates),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// list_page.h: the keyset cursor round-trips and anything else is refused; the
// limit is bounded; a page takes items up to its limit and byte budget and
// says where the next one starts; pages put together are the list, with no
// item twice and none left out, also when items arrive between pages.
#include "core_test.h"

#include <algorithm>
#include <limits>

#include "list_page.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

const char* const ID_A = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a01";
const char* const ID_B = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a02";

void test_cursor_round_trips(void**) {
    for (const ListPosition& p : {ListPosition{0, ID_A}, ListPosition{1764800000123456, ID_B},
                                  ListPosition{std::numeric_limits<usec_t>::max(), ID_A}}) {
        const std::string text = format_list_cursor(p);
        assert_true(text.size() <= MAX_LIST_CURSOR);
        auto back = parse_list_cursor(text);
        assert_true(back.ok());
        assert_true(back->has_value());
        assert_true((*back)->usec == p.usec);
        assert_string_equal((*back)->id.c_str(), p.id.c_str());
    }
}

void test_empty_cursor_is_the_start(void**) {
    auto c = parse_list_cursor("");
    assert_true(c.ok());
    assert_false(c->has_value());
}

void test_refuses_malformed_cursors(void**) {
    const std::string good = format_list_cursor({42, ID_A});
    const std::string bad[] = {
        "c1.",
        "c1.42",
        "c1.42.",
        "c2.42." + std::string(ID_A),                   // another version
        "C1.42." + std::string(ID_A),                   // prefix is exact
        "c1.042." + std::string(ID_A),                  // leading zero: one spelling per position
        "c1.-42." + std::string(ID_A),                  // negative
        "c1.+42." + std::string(ID_A),                  // sign
        "c1. 42." + std::string(ID_A),                  // space
        "c1.9223372036854775808." + std::string(ID_A),  // past int64
        "c1.42.3F1C2A9E-8B7D-4C6E-9A5F-1E2D3C4B5A01",   // ids are lowercase
        "c1.42.3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a0",    // short id
        "c1.42." + std::string(ID_A) + "x",             // trailing garbage
        "c1.42." + std::string(ID_A) + std::string(1, '\0'),
        "c1.42.' OR 1=1 --",
        good + std::string(MAX_LIST_CURSOR, '0'),  // oversized
        std::string(1 << 16, 'c'),
    };
    for (const auto& text : bad) {
        auto c = parse_list_cursor(text);
        if (c.ok())
            fail_msg("cursor %s was accepted", text.substr(0, 80).c_str());
        assert_errc(c.error().code, Errc::InvalidArgument);
        assert_non_null(std::strstr(c.error().message.c_str(), "cursor"));
    }
}

void test_limit_bounds(void**) {
    assert_int_equal(*page_limit(0), DEFAULT_PAGE_LIMIT);
    assert_int_equal(*page_limit(1), 1);
    assert_int_equal(*page_limit(MAX_PAGE_LIMIT), MAX_PAGE_LIMIT);
    for (uint32_t too_many : {MAX_PAGE_LIMIT + 1, UINT32_MAX}) {
        auto l = page_limit(too_many);
        assert_false(l.ok());
        assert_errc(l.error().code, Errc::InvalidArgument);
        assert_non_null(std::strstr(l.error().message.c_str(), "limit"));
    }
}

void test_order_is_newest_first_then_id(void**) {
    assert_true(listed_before({2, ID_B}, {1, ID_A}));
    assert_false(listed_before({1, ID_A}, {2, ID_B}));
    assert_true(listed_before({1, ID_A}, {1, ID_B}));
    assert_false(listed_before({1, ID_A}, {1, ID_A}));
}

void test_page_stops_at_limit_and_names_the_last_item(void**) {
    ListPage page(2, 1 << 20);
    assert_true(page.add({3, ID_A}, "1"));
    assert_true(page.add({2, ID_A}, "2"));
    assert_false(page.add({1, ID_A}, "3"));
    assert_true(page.full());
    assert_string_equal(page.json_array().c_str(), "[1,2]");
    assert_string_equal(page.next_cursor().c_str(), format_list_cursor({2, ID_A}).c_str());
}

void test_page_that_ends_the_list_has_no_cursor(void**) {
    ListPage page(2, 1 << 20);
    assert_true(page.add({3, ID_A}, "1"));
    assert_false(page.full());
    assert_string_equal(page.json_array().c_str(), "[1]");
    assert_string_equal(page.next_cursor().c_str(), "");
    ListPage empty(2, 1 << 20);
    assert_string_equal(empty.json_array().c_str(), "[]");
    assert_string_equal(empty.next_cursor().c_str(), "");
}

void test_page_stops_at_byte_budget(void**) {
    // "[" + "aaaa" + "," + "bbbb" + "]" = 11 bytes; a third item does not fit 12.
    ListPage page(100, 12);
    assert_true(page.add({3, ID_A}, "\"aa\""));
    assert_true(page.add({2, ID_A}, "\"bb\""));
    assert_false(page.add({1, ID_A}, "\"cc\""));
    assert_true(page.json_array().size() <= 12);
    assert_string_equal(page.next_cursor().c_str(), format_list_cursor({2, ID_A}).c_str());
}

// A list held as positions; one page is what a daemon returns for a cursor.
std::pair<std::vector<std::string>, std::string> one_page(std::vector<ListPosition> list, const std::string& cursor,
                                                          uint32_t limit) {
    std::sort(list.begin(), list.end(), listed_before);
    auto after = parse_list_cursor(cursor);
    assert_true(after.ok());
    ListPage page(limit, 1 << 20);
    std::vector<std::string> ids;
    for (const auto& p : list) {
        if (*after && !listed_before(**after, p))
            continue;
        if (!page.add(p, "0"))
            break;
        ids.push_back(p.id);
    }
    return {ids, page.next_cursor()};
}

std::string uuid(int n) {
    char s[37];
    std::snprintf(s, sizeof s, "00000000-0000-4000-8000-%012d", n);
    return s;
}

void test_pages_concatenate_to_the_list_while_items_arrive(void**) {
    std::vector<ListPosition> list;
    // Ties on the time: the id orders them.
    for (int i = 0; i < 25; i++)
        list.push_back({1000 + i / 3, uuid(i)});
    std::vector<std::string> expected;
    {
        auto sorted = list;
        std::sort(sorted.begin(), sorted.end(), listed_before);
        for (const auto& p : sorted)
            expected.push_back(p.id);
    }
    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0, added = 100;
    do {
        auto [ids, next] = one_page(list, cursor, 4);
        seen.insert(seen.end(), ids.begin(), ids.end());
        cursor = next;
        pages++;
        // A newer item between pages lands in front of the cursor: not seen,
        // and nothing moves.
        list.push_back({5000 + added, uuid(added)});
        added++;
    } while (!cursor.empty());
    assert_int_equal(pages, 7);
    assert_true(seen == expected);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_round_trips),
        cmocka_unit_test(test_empty_cursor_is_the_start),
        cmocka_unit_test(test_refuses_malformed_cursors),
        cmocka_unit_test(test_limit_bounds),
        cmocka_unit_test(test_order_is_newest_first_then_id),
        cmocka_unit_test(test_page_stops_at_limit_and_names_the_last_item),
        cmocka_unit_test(test_page_that_ends_the_list_has_no_cursor),
        cmocka_unit_test(test_page_stops_at_byte_budget),
        cmocka_unit_test(test_pages_concatenate_to_the_list_while_items_arrive),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

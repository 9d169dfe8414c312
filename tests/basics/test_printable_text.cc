// printable_text.h: the one printable-text rule, checked and applied.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "printable_text.h"

using namespace lockbox;

namespace {

void test_is_printable_accepts_ascii_and_utf8_text(void**) {
    for (std::string ok :
         {"", "plain text", "INC:4711 ~!@#$%^&*()", "caf\xc3\xa9", "\xe2\x80\x94 dash", "\xf0\x9f\x94\x92 lock"})
        if (!is_printable(ok))
            fail_msg("is_printable(\"%s\") should be true", ok.c_str());
}

void test_is_printable_refuses_controls_and_broken_utf8(void**) {
    const std::vector<std::string> bad = {
        std::string("a\0b", 3),
        "tab\there",
        "new\nline",
        "esc\x1b[2J",
        "del\x7f",
        "c1 csi \xc2\x9b",
        "lone \xc3",
        "overlong \xc0\xaf",
        "surrogate \xed\xa0\x80",
        "\xff",
    };
    for (const auto& text : bad)
        if (is_printable(text))
            fail_msg("is_printable should refuse case of %zu bytes", text.size());
}

void test_printable_replaces_each_bad_byte_with_a_question_mark(void**) {
    assert_string_equal(printable("a\x1b[2Jb", 64).c_str(), "a?[2Jb");
    assert_string_equal(printable("x\xc2\x9by", 64).c_str(), "x??y");
    assert_string_equal(printable("caf\xc3\xa9", 64).c_str(), "caf\xc3\xa9");
    assert_string_equal(printable(std::string("a\0b", 3), 64).c_str(), "a?b");
}

void test_printable_cuts_long_text_with_a_marker(void**) {
    assert_string_equal(printable("abcdef", 6).c_str(), "abcdef");
    assert_string_equal(printable("abcdefg", 6).c_str(), "abcdef...");
    // Never half a character: the cut falls before a sequence that does not fit.
    assert_string_equal(printable("abcde\xc3\xa9", 6).c_str(), "abcde...");
    assert_string_equal(printable("", 0).c_str(), "");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_printable_accepts_ascii_and_utf8_text),
        cmocka_unit_test(test_is_printable_refuses_controls_and_broken_utf8),
        cmocka_unit_test(test_printable_replaces_each_bad_byte_with_a_question_mark),
        cmocka_unit_test(test_printable_cuts_long_text_with_a_marker),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

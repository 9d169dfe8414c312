// time_format.h: RFC 3339 UTC and durations, accepted and refused forms.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "time_format.h"
#include "../errc_assert.h"

using namespace lockbox;

namespace {

constexpr usec_t S = USEC_PER_SEC;

void test_format_rfc3339_prints_whole_seconds_utc(void**) {
    struct {
        usec_t t;
        const char* want;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1 * S + 999999, "1970-01-01T00:00:01Z"},  // sub-second dropped
        {951782400 * S, "2000-02-29T00:00:00Z"},   // leap day of a /400 year
        {1700000000 * S, "2023-11-14T22:13:20Z"},
        {1798576618 * S, "2026-12-29T20:36:58Z"},
        {4102444799 * S, "2099-12-31T23:59:59Z"},
        {-1, "1969-12-31T23:59:59Z"},  // floor, not truncation
        {253402300799 * S, "9999-12-31T23:59:59Z"},
    };
    for (const auto& c : cases)
        assert_string_equal(format_rfc3339(c.t).c_str(), c.want);
}

void test_parse_rfc3339_accepts_z_offset_zero_and_fractions(void**) {
    struct {
        const char* text;
        usec_t want;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2023-11-14T22:13:20Z", 1700000000 * S},
        {"2023-11-14T22:13:20+00:00", 1700000000 * S},
        {"2023-11-14T22:13:20.5Z", 1700000000 * S + 500000},
        {"2023-11-14T22:13:20.123456Z", 1700000000 * S + 123456},
        {"2023-11-14T22:13:20.123456789Z", 1700000000 * S + 123456},  // beyond µs dropped
        {"2023-11-14T22:13:20.000001+00:00", 1700000000 * S + 1},
        {"2000-02-29T00:00:00Z", 951782400 * S},
        {"2024-02-29T12:00:00Z", 1709208000 * S},
        {"9999-12-31T23:59:59Z", 253402300799 * S},
    };
    for (const auto& c : cases) {
        auto r = parse_rfc3339(c.text);
        if (!r)
            fail_msg("parse_rfc3339(\"%s\") refused: %s", c.text, r.error().message.c_str());
        assert_int_equal(*r, c.want);
    }
}

void test_parse_rfc3339_round_trips_format(void**) {
    for (usec_t t : {usec_t{0}, 86399 * S, 1234567890 * S, 4102444799 * S}) {
        auto r = parse_rfc3339(format_rfc3339(t));
        assert_true(r.ok());
        assert_int_equal(*r, t);
    }
}

void test_parse_rfc3339_refuses_offsets_ranges_and_junk(void**) {
    const char* bad[] = {
        "",
        "2023-11-14",
        "2023-11-14T22:13:20",        // no zone
        "2023-11-14T22:13:20+01:00",  // other offsets
        "2023-11-14T22:13:20-00:00",  // "unknown local offset" in RFC 3339
        "2023-11-14T22:13:20+0000",
        "2023-11-14T22:13:20z",
        "2023-11-14t22:13:20Z",
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13:20ZZ",  // trailing junk
        "2023-11-14T22:13:20Z ",
        " 2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20.Z",  // fraction without digits
        "2023-11-14T22:13:20.1234567890Z",
        "2023-13-01T00:00:00Z",
        "2023-00-01T00:00:00Z",
        "2023-02-29T00:00:00Z",  // not a leap year
        "1900-02-29T00:00:00Z",  // /100 but not /400
        "2023-04-31T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T00:60:00Z",
        "2023-01-01T00:00:60Z",  // leap second
        "0000-01-01T00:00:00Z",
        "+2023-01-01T00:00:00Z",
        "2023-1-01T00:00:00Z",
        "2023-01-01T0:00:00Z",
        "20231-01-01T00:00:00Z",
        "2023-01-01T00:00:00.123456789012345678901234567890123456789012345678901234567890Z",
        "２023-01-01T00:00:00Z",
    };
    for (const char* text : bad) {
        auto r = parse_rfc3339(text);
        if (r)
            fail_msg("parse_rfc3339(\"%s\") accepted", text);
        assert_errc(r.error().code, lockbox::Errc::InvalidArgument);
    }
}

void test_parse_duration_accepts_units_and_combinations(void**) {
    struct {
        const char* text;
        usec_t want;
    } cases[] = {
        {"45s", 45 * S},        {"30m", 1800 * S},
        {"2h", 7200 * S},       {"1h30m", 5400 * S},
        {"1h30m15s", 5415 * S}, {"1h15s", 3615 * S},
        {"90m", 5400 * S},      {"0h1s", 1 * S},
        {"0001s", 1 * S},       {"2562047788h", usec_t{2562047788} * 3600 * S},
    };
    for (const auto& c : cases) {
        auto r = parse_duration(c.text);
        if (!r)
            fail_msg("parse_duration(\"%s\") refused: %s", c.text, r.error().message.c_str());
        assert_int_equal(*r, c.want);
    }
}

void test_parse_duration_refuses_bare_numbers_zero_and_overflow(void**) {
    const char* bad[] = {
        "",
        "4",
        "0",
        "0s",
        "0h0m0s",
        "-1h",
        "+1h",
        "1d",
        "1H",
        "1 h",
        " 1h",
        "1h ",
        "h",
        "1h30",
        "30m1h",
        "1h1h",
        "1s1m",
        "1.5h",
        "1h30m45s5",
        "2562047789h",
        "2562047788h1m",
        "9223372036854775807s",
        "99999999999999999999h",
        "1ms",
        "123456789012345678901234567890123s",
    };
    for (const char* text : bad) {
        auto r = parse_duration(text);
        if (r)
            fail_msg("parse_duration(\"%s\") accepted", text);
        assert_errc(r.error().code, lockbox::Errc::InvalidArgument);
    }
}

void test_format_duration_uses_largest_units(void**) {
    struct {
        usec_t d;
        const char* want;
    } cases[] = {
        {4 * 3600 * S, "4h"}, {5400 * S, "1h30m"}, {45 * S, "45s"}, {3601 * S, "1h1s"},
        {61 * S, "1m1s"},     {0, "0s"},           {-5 * S, "0s"},  {1500000, "1s"},
    };
    for (const auto& c : cases)
        assert_string_equal(format_duration(c.d).c_str(), c.want);
    for (usec_t d : {usec_t{1} * S, 59 * S, 3599 * S, 90061 * S}) {
        auto r = parse_duration(format_duration(d));
        assert_true(r.ok());
        assert_int_equal(*r, d);
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_rfc3339_prints_whole_seconds_utc),
        cmocka_unit_test(test_parse_rfc3339_accepts_z_offset_zero_and_fractions),
        cmocka_unit_test(test_parse_rfc3339_round_trips_format),
        cmocka_unit_test(test_parse_rfc3339_refuses_offsets_ranges_and_junk),
        cmocka_unit_test(test_parse_duration_accepts_units_and_combinations),
        cmocka_unit_test(test_parse_duration_refuses_bare_numbers_zero_and_overflow),
        cmocka_unit_test(test_format_duration_uses_largest_units),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

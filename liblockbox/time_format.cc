#include "time_format.h"

#include <cstdint>
#include <cstdio>
#include <limits>

namespace lockbox {
namespace {

constexpr int64_t SECS_PER_DAY = 86400;
constexpr size_t MAX_TIME_TEXT = 64;

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian
// calendar, no dependence on TZ, locale or the range of time_t.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    static constexpr unsigned DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : DAYS[m - 1];
}

// Reads exactly n digits at text[pos]; false if any is not a digit.
bool fixed_digits(std::string_view text, size_t pos, size_t n, unsigned& out) {
    if (pos + n > text.size())
        return false;
    out = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[pos + i];
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
}

Error bad_time(std::string_view text, const char* why) {
    return make_error(Errc::InvalidArgument, "invalid RFC 3339 UTC time \"" +
                                                 std::string(text.substr(0, MAX_TIME_TEXT)) + "\": " + why +
                                                 " (expected YYYY-MM-DDTHH:MM:SSZ)");
}

Error bad_duration(std::string_view text, const char* why) {
    return make_error(Errc::InvalidArgument, "invalid duration \"" + std::string(text.substr(0, MAX_TIME_TEXT)) +
                                                 "\": " + why + " (expected e.g. 45s, 30m, 2h, 1h30m)");
}

}  // namespace

std::string format_rfc3339(usec_t t) {
    // Floor division so times before the epoch still print the right second.
    int64_t secs = t / USEC_PER_SEC;
    if (t % USEC_PER_SEC < 0)
        secs--;
    int64_t days = secs / SECS_PER_DAY;
    int64_t rem = secs % SECS_PER_DAY;
    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ", static_cast<long long>(y), m, d,
                  static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem / 60 % 60),
                  static_cast<unsigned>(rem % 60));
    return buf;
}

Result<usec_t> parse_rfc3339(std::string_view text) {
    if (text.size() > MAX_TIME_TEXT)
        return bad_time(text, "too long");
    unsigned year, month, day, hour, minute, second;
    if (!fixed_digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' || !fixed_digits(text, 5, 2, month) ||
        text[7] != '-' || !fixed_digits(text, 8, 2, day) || text[10] != 'T' || !fixed_digits(text, 11, 2, hour) ||
        text[13] != ':' || !fixed_digits(text, 14, 2, minute) || text[16] != ':' || !fixed_digits(text, 17, 2, second))
        return bad_time(text, "malformed");
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return bad_time(text, "date out of range");
    // Leap seconds (":60") are refused: tokens are compared as plain usec_t.
    if (hour > 23 || minute > 59 || second > 59)
        return bad_time(text, "time of day out of range");

    size_t pos = 19;
    usec_t frac = 0;
    if (pos < text.size() && text[pos] == '.') {
        pos++;
        size_t digits = 0;
        usec_t scale = 100000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits >= 9)
                return bad_time(text, "more than 9 fractional digits");
            // Microsecond resolution: further digits are read and dropped.
            frac += (text[pos] - '0') * scale;
            scale /= 10;
            digits++;
            pos++;
        }
        if (digits == 0)
            return bad_time(text, "no digits after '.'");
    }
    std::string_view zone = text.substr(pos);
    if (zone != "Z" && zone != "+00:00")
        return bad_time(text, zone.empty() ? "missing 'Z'" : "only UTC (Z or +00:00) is accepted");

    int64_t days = days_from_civil(year, month, day);
    int64_t secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second;
    return secs * USEC_PER_SEC + frac;
}

Result<usec_t> parse_duration(std::string_view text) {
    if (text.empty())
        return bad_duration(text, "empty");
    if (text.size() > 32)
        return bad_duration(text, "too long");
    // Units must appear at most once each, largest first: "1h30m", not "30m1h".
    static constexpr struct {
        char unit;
        int64_t usec;
    } UNITS[] = {{'h', 3600 * USEC_PER_SEC}, {'m', 60 * USEC_PER_SEC}, {'s', USEC_PER_SEC}};
    constexpr int64_t MAX = std::numeric_limits<int64_t>::max();

    int64_t total = 0;
    size_t next_unit = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        int64_t n = 0;
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            int digit = text[pos] - '0';
            if (n > (MAX - digit) / 10)
                return bad_duration(text, "too large");
            n = n * 10 + digit;
            pos++;
        }
        if (pos == start)
            return bad_duration(text, "expected digits");
        if (pos == text.size())
            return bad_duration(text, "number without unit (s, m or h)");
        char unit = text[pos++];
        size_t u = next_unit;
        while (u < std::size(UNITS) && UNITS[u].unit != unit)
            u++;
        if (u == std::size(UNITS))
            return bad_duration(text, "unknown or repeated unit (use h, m, s in that order)");
        next_unit = u + 1;
        if (n > MAX / UNITS[u].usec || total > MAX - n * UNITS[u].usec)
            return bad_duration(text, "too large");
        total += n * UNITS[u].usec;
    }
    if (total <= 0)
        return bad_duration(text, "must be greater than zero");
    return total;
}

std::string format_duration(usec_t d) {
    int64_t secs = d > 0 ? d / USEC_PER_SEC : 0;
    if (secs == 0)
        return "0s";
    std::string out;
    if (secs >= 3600)
        out += std::to_string(secs / 3600) + "h";
    if (secs % 3600 >= 60)
        out += std::to_string(secs % 3600 / 60) + "m";
    if (secs % 60)
        out += std::to_string(secs % 60) + "s";
    return out;
}

}  // namespace lockbox

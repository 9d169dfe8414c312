#include "list_page.h"

#include <charconv>

#include "names.h"

namespace lockbox {

namespace {

constexpr std::string_view CURSOR_PREFIX = "c1.";

Error bad_cursor() {
    return make_error(Errc::InvalidArgument,
                      "cursor: not a cursor this service handed out (pass \"\" to start at the newest)");
}

}  // namespace

bool listed_before(const ListPosition& a, const ListPosition& b) {
    if (a.usec != b.usec)
        return a.usec > b.usec;
    return a.id < b.id;
}

std::string format_list_cursor(const ListPosition& p) {
    return std::string(CURSOR_PREFIX) + std::to_string(p.usec) + "." + p.id;
}

Result<std::optional<ListPosition>> parse_list_cursor(std::string_view text) {
    if (text.empty())
        return std::optional<ListPosition>{};
    if (text.size() > MAX_LIST_CURSOR || text.substr(0, CURSOR_PREFIX.size()) != CURSOR_PREFIX)
        return bad_cursor();
    text.remove_prefix(CURSOR_PREFIX.size());
    const size_t dot = text.find('.');
    if (dot == std::string_view::npos)
        return bad_cursor();
    const std::string_view digits = text.substr(0, dot), id = text.substr(dot + 1);
    // Decimal digits only, no sign, no leading zero: one spelling per position.
    if (digits.empty() || (digits.size() > 1 && digits[0] == '0'))
        return bad_cursor();
    for (char c : digits)
        if (c < '0' || c > '9')
            return bad_cursor();
    usec_t usec = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), usec);
    if (ec != std::errc() || end != digits.data() + digits.size() || usec < 0)
        return bad_cursor();
    if (!is_valid_uuid(id))
        return bad_cursor();
    return std::optional<ListPosition>{ListPosition{usec, std::string(id)}};
}

Result<uint32_t> page_limit(uint32_t asked) {
    if (asked == 0)
        return DEFAULT_PAGE_LIMIT;
    if (asked > MAX_PAGE_LIMIT)
        return make_error(Errc::InvalidArgument, "limit: at most " + std::to_string(MAX_PAGE_LIMIT) +
                                                     " (0 = " + std::to_string(DEFAULT_PAGE_LIMIT) + ")");
    return asked;
}

bool ListPage::add(const ListPosition& pos, const std::string& item) {
    if (full_ || array_.count() >= limit_ || !array_.add(item)) {
        full_ = true;
        return false;
    }
    last_ = pos;
    return true;
}

}  // namespace lockbox

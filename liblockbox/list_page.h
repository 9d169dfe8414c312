// One page of a list too long for one bus reply (ListRequestsPage on
// Approval1, ListGrantsPage on Enforcer1; docs/bus-api.md "Paging"). Both
// daemons order their lists the same way, newest first and then by id, and
// hand out the same keyset cursor: the position of the last item a page
// holds. A position, unlike an offset, stays valid while items are added in
// front of it or removed, so pages put together hold every item that existed
// throughout, once, with no gap.
//
// The cursor is opaque to clients ("c1.<usec>.<id>" today, so a later build
// may change it), bounded in size and parsed strictly: anything else is
// invalid-argument before the daemon acts on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clock.h"
#include "bounded_json_array.h"
#include "result.h"

namespace lockbox {

// limit 0 asks for DEFAULT_PAGE_LIMIT; more than MAX_PAGE_LIMIT is refused.
inline constexpr uint32_t DEFAULT_PAGE_LIMIT = 100;
inline constexpr uint32_t MAX_PAGE_LIMIT = 1000;
// Longer than any cursor format_list_cursor writes ("c1." + 19 digits + "." +
// a 36-character UUID = 59), refused before parsing.
inline constexpr size_t MAX_LIST_CURSOR = 64;

// Where an item sits in the list order: usec descending (newest first), then
// id ascending, so two items of the same microsecond still have one order.
// The id is a canonical lowercase UUID (request id, grant jti).
struct ListPosition {
    usec_t usec = 0;
    std::string id;
};

// True when a comes before b in the list order.
bool listed_before(const ListPosition& a, const ListPosition& b);

std::string format_list_cursor(const ListPosition& p);
// "" = from the start of the list (nullopt). Anything but a cursor
// format_list_cursor wrote is invalid-argument naming "cursor".
Result<std::optional<ListPosition>> parse_list_cursor(std::string_view text);
// The page size for a requested limit: 0 = DEFAULT_PAGE_LIMIT, 1..MAX_PAGE_LIMIT
// as asked, more is invalid-argument naming "limit".
Result<uint32_t> page_limit(uint32_t asked);

// Collects a page: offer the items in list order (one more than the limit, so
// that the page knows whether more remain); an item is taken while the page
// holds fewer than limit items and the JSON array stays within max_bytes.
class ListPage {
public:
    ListPage(uint32_t limit, size_t max_bytes) : limit_(limit), array_(max_bytes) {}

    // item: one serialized JSON value. False once the page is full: this item
    // and everything after it belong to the next page.
    bool add(const ListPosition& pos, const std::string& item);
    // Full with nothing taken means one item alone exceeds max_bytes: the
    // caller fails the call, as an empty page with no cursor would read as
    // the end of the list.
    bool full() const { return full_; }
    size_t count() const { return array_.count(); }
    std::string json_array() const { return array_.finish(); }
    // Where the next page starts: after the last item taken, when an offered
    // item did not fit; "" when the list ended on this page.
    std::string next_cursor() const { return full_ && count() > 0 ? format_list_cursor(last_) : std::string(); }

private:
    uint32_t limit_;
    BoundedJsonArray array_;  // the byte budget
    bool full_ = false;
    ListPosition last_;
};

}  // namespace lockbox

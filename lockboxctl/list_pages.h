// The paged list methods (ListRequestsPage on Approval1, ListGrantsPage on
// Enforcer1; docs/bus-api.md "Paging") from lockboxctl's side: one page for
// --limit, or every page from a cursor on, so that a list is never cut at
// the size of one bus reply.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <systemd/sd-bus.h>

#include "enforcer_client.h"
#include "result.h"

namespace lockboxctl {

struct ListPageReply {
    nlohmann::json items = nlohmann::json::array();
    std::string next_cursor;  // "" when the list ended
};

// The arguments a paged method takes before its cursor and limit (the state
// filter of ListRequestsPage); empty for none.
using LeadingArgs = std::function<int(sd_bus_message*)>;

// One call: up to limit items after cursor ("" = from the newest).
lockbox::Result<ListPageReply> fetch_list_page(sd_bus* bus, const BusTarget& target, const char* method,
                                               const LeadingArgs& leading, const std::string& cursor, uint32_t limit,
                                               uint64_t timeout_usec, CallFailure* failure);
// Every item from cursor to the end of the list, page by page.
lockbox::Result<nlohmann::json> fetch_all_pages(sd_bus* bus, const BusTarget& target, const char* method,
                                                const LeadingArgs& leading, const std::string& cursor,
                                                uint64_t timeout_usec, CallFailure* failure);
// The daemon predates the paged methods: the caller may fall back to the
// one-reply list.
bool method_unknown(const CallFailure& f);
// Table mode: where the next page starts, on stderr (stdout holds the table alone).
void print_next_cursor_hint(const char* what, const std::string& next_cursor);

}  // namespace lockboxctl

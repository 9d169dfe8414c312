#include "list_pages.h"

#include <cstdio>

#include "list_page.h"

namespace lockboxctl {

lockbox::Result<ListPageReply> fetch_list_page(sd_bus* bus, const BusTarget& target, const char* method,
                                               const LeadingArgs& leading, const std::string& cursor, uint32_t limit,
                                               uint64_t timeout_usec, CallFailure* failure) {
    ReplyPtr reply = call_method(
        bus, target, method,
        [&](sd_bus_message* m) {
            int r = leading ? leading(m) : 0;
            if (r >= 0)
                r = sd_bus_message_append(m, "su", cursor.c_str(), limit);
            return r;
        },
        timeout_usec, failure);
    if (!reply)
        return lockbox::make_error(failure->error_name.empty() ? lockbox::Errc::Unavailable : lockbox::Errc::Refused,
                                   failure->message);
    const char* array = nullptr;
    const char* next = nullptr;
    if (sd_bus_message_read(reply.get(), "ss", &array, &next) < 0)
        return lockbox::make_error(lockbox::Errc::Malformed, std::string("malformed reply from ") + target.label);
    auto items = parse_json_reply(array, target.label);
    if (!items || !items->is_array())
        return lockbox::make_error(lockbox::Errc::Malformed, std::string("malformed list from ") + target.label);
    return ListPageReply{std::move(*items), next};
}

lockbox::Result<nlohmann::json> fetch_all_pages(sd_bus* bus, const BusTarget& target, const char* method,
                                                const LeadingArgs& leading, const std::string& cursor,
                                                uint64_t timeout_usec, CallFailure* failure) {
    nlohmann::json all = nlohmann::json::array();
    std::string at = cursor;
    for (;;) {
        auto page = fetch_list_page(bus, target, method, leading, at, lockbox::MAX_PAGE_LIMIT, timeout_usec, failure);
        if (!page)
            return page.error();
        for (auto& item : page->items)
            all.push_back(std::move(item));
        if (page->next_cursor.empty())
            return all;
        // A cursor that does not move would page forever.
        if (page->next_cursor == at || page->items.empty())
            return lockbox::make_error(lockbox::Errc::Malformed,
                                       std::string(target.label) + " returned a page that does not advance");
        at = page->next_cursor;
    }
}

bool method_unknown(const CallFailure& f) { return f.error_name == "org.freedesktop.DBus.Error.UnknownMethod"; }

void print_next_cursor_hint(const char* what, const std::string& next_cursor) {
    if (!next_cursor.empty())
        std::fprintf(stderr, "lockboxctl: more %s remain; the next page: --cursor %s\n", what, next_cursor.c_str());
}

}  // namespace lockboxctl

// Space-separated lists for audit fields (LOCKBOX_PIDS, LOCKBOX_UIDS,
// LOCKBOX_KEYS_ADDED…): one spelling for every list lockboxd records.
#pragma once

#include <string>
#include <type_traits>

namespace lockboxd {

// Items are strings or integers (pids, uids); "" for none.
template <typename Range>
std::string join_words(const Range& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty())
            out += ' ';
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(item)>>)
            out += std::to_string(item);
        else
            out += item;
    }
    return out;
}

}  // namespace lockboxd

#include "access_level.h"

#include <algorithm>

namespace lockbox {

bool is_valid_access_level(std::string_view level) {
    if (level.empty() || level.size() > MAX_ACCESS_LEVEL || level[0] < 'a' || level[0] > 'z')
        return false;
    return std::all_of(level.begin(), level.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

std::string access_group_name(std::string_view level) { return std::string(ACCESS_GROUP_PREFIX) + std::string(level); }

std::optional<size_t> access_level_rank(const std::vector<std::string>& levels, std::string_view level) {
    auto it = std::find(levels.begin(), levels.end(), level);
    if (it == levels.end())
        return std::nullopt;
    return static_cast<size_t>(it - levels.begin());
}

std::string effective_access_level(const std::vector<std::string>& levels, std::string_view claimed) {
    if (!claimed.empty())
        return std::string(claimed);
    return levels.empty() ? std::string() : levels.front();
}

}  // namespace lockbox

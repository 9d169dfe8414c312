// Access levels ([Access] Levels= in lockbox.conf, docs/configuration.md): the
// customer's names for how much an engineer may do on a host, least privileged
// first. A grant carries one level (claim `access`, docs/tokens.md); on the host
// that level is membership of the group lockbox-<level>, which nss_lockbox serves
// and the customer's own sudoers or polkit rules give their rights.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockbox {

// A level's group name ("lockbox-" + level) must stay a valid login name (32).
constexpr size_t MAX_ACCESS_LEVEL = 24;
constexpr size_t MAX_ACCESS_LEVELS = 16;
constexpr std::string_view ACCESS_GROUP_PREFIX = "lockbox-";

// [a-z][a-z0-9_-]*, at most MAX_ACCESS_LEVEL characters.
bool is_valid_access_level(std::string_view level);
std::string access_group_name(std::string_view level);

// Where level stands in levels (0 = least privileged), or nullopt when the
// list does not define it.
std::optional<size_t> access_level_rank(const std::vector<std::string>& levels, std::string_view level);

// The level a grant carries: its `access` claim, or, for a token that states
// none (an issuer that predates levels, a peer issuer), the least privileged
// level of this host. Empty when levels is empty.
std::string effective_access_level(const std::vector<std::string>& levels, std::string_view claimed);

}  // namespace lockbox

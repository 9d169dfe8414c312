// The pieces of the lockbox.conf parser that more than one file of it uses: a
// key's setter returns nothing on success, else what the value should have been.
// Internal to config*.cc (liblockbox/config.h is the interface).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace lockbox::config_keys {

using Expected = std::optional<std::string>;
using Setter = std::function<Expected(Config&, const std::string&)>;

Expected set_path(std::string& out, const std::string& v);
bool has_control(std::string_view s);

// [Fleet] Mode=, Endpoints=, CAFile=, CertFile=, KeyFile= (config_fleet.cc).
std::map<std::string, Setter> fleet_keys();
// [Host] Groups=
Expected set_host_groups(Config& c, const std::string& v);
// After the whole file: what a [Fleet] section lacks, nullopt when complete.
std::optional<std::string> fleet_incomplete(const Config& c);

}  // namespace lockbox::config_keys

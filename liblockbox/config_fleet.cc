// [Fleet] and [Host] Groups= of lockbox.conf (docs/configuration.md, docs/fleet.md).
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "config_keys.h"
#include "names.h"

namespace lockbox {

const char* fleet_mode_name(FleetMode mode) {
    switch (mode) {
    case FleetMode::None:
        return "none";
    case FleetMode::Signer:
        return "signer";
    case FleetMode::Workflow:
        return "workflow";
    case FleetMode::Host:
        return "host";
    }
    return "none";
}

namespace config_keys {
namespace {

std::vector<std::string_view> split_list(std::string_view s) {
    std::vector<std::string_view> items;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t start = i;
        while (i < s.size() && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
            i++;
        if (i > start)
            items.push_back(s.substr(start, i - start));
    }
    return items;
}

bool is_valid_ipv4(std::string_view s) {
    int parts = 0;
    size_t i = 0;
    while (i <= s.size()) {
        size_t start = i;
        unsigned value = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            value = value * 10 + static_cast<unsigned>(s[i++] - '0');
        if (i == start || value > 255 || ++parts > 4)
            return false;
        if (i == s.size())
            break;
        if (s[i] != '.')
            return false;
        i++;
    }
    return parts == 4;
}

// "https://host:port": TLS always (docs/fleet.md), a port always, no path, no
// user info; host a DNS name, an IPv4 address or a bracketed IPv6 address.
bool is_valid_endpoint(std::string_view url) {
    if (!url.starts_with("https://") || url.size() > 300)
        return false;
    std::string_view rest = url.substr(8);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return false;
    std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    unsigned long p = std::stoul(std::string(port));
    if (p == 0 || p > 65535)
        return false;
    if (host.front() == '[')
        return host.back() == ']' && host.size() > 2 && std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c)) || c == ':';
               });
    return is_valid_ipv4(host) || is_valid_host_name(host);
}

}  // namespace

std::map<std::string, Setter> fleet_keys() {
    return {
        {"Mode",
         [](Config& c, const std::string& v) -> Expected {
             if (v == "signer")
                 c.fleet.mode = FleetMode::Signer;
             else if (v == "workflow")
                 c.fleet.mode = FleetMode::Workflow;
             else if (v == "host")
                 c.fleet.mode = FleetMode::Host;
             else
                 return "signer, workflow or host";
             return std::nullopt;
         }},
        {"Endpoints",
         [](Config& c, const std::string& v) -> Expected {
             const char* want = "comma-separated https://HOST:PORT URLs, at most 16";
             auto items = split_list(v);
             if (items.empty() || items.size() > MAX_FLEET_ENDPOINTS)
                 return want;
             std::vector<std::string> out;
             for (auto item : items) {
                 if (!is_valid_endpoint(item))
                     return want;
                 out.emplace_back(item);
             }
             c.fleet.endpoints = std::move(out);
             return std::nullopt;
         }},
        {"CAFile", [](Config& c, const std::string& v) { return set_path(c.fleet.ca_file, v); }},
        {"CertFile", [](Config& c, const std::string& v) { return set_path(c.fleet.cert_file, v); }},
        {"KeyFile", [](Config& c, const std::string& v) { return set_path(c.fleet.key_file, v); }},
    };
}

Expected set_host_groups(Config& c, const std::string& v) {
    const char* want = "group names ([a-z_][a-z0-9_-]*, at most 32 characters), comma- or space-separated, at most 32";
    auto items = split_list(v);
    if (items.size() > MAX_HOST_GROUPS)
        return want;
    std::vector<std::string> out;
    for (auto item : items) {
        if (!is_valid_user_name(item))
            return want;
        if (std::find(out.begin(), out.end(), item) == out.end())
            out.emplace_back(item);
    }
    c.host_groups = std::move(out);
    return std::nullopt;
}

std::optional<std::string> fleet_incomplete(const Config& c) {
    const FleetConfig& f = c.fleet;
    bool any = !f.endpoints.empty() || !f.ca_file.empty() || !f.cert_file.empty() || !f.key_file.empty();
    if (f.mode == FleetMode::None)
        return any ? std::optional<std::string>("[Fleet] needs Mode= (signer, workflow or host)") : std::nullopt;
    std::string missing;
    if (f.endpoints.empty())
        missing += " Endpoints=";
    if (f.ca_file.empty())
        missing += " CAFile=";
    if (f.cert_file.empty())
        missing += " CertFile=";
    if (f.key_file.empty())
        missing += " KeyFile=";
    if (missing.empty())
        return std::nullopt;
    return "[Fleet] Mode=" + std::string(fleet_mode_name(f.mode)) + " needs" + missing;
}

}  // namespace config_keys
}  // namespace lockbox

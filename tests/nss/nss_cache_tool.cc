// Writes an NSS cache with the real writer (liblockbox write_nss_cache) from a JSON
// description, for the NSS tests and anyone else's:
//
//   nss_cache_tool write PATH < spec.json
//   {"users":  [{"name":"eng1","uid":2100000001,"gid":2100000001,"gecos":"Eng One",
//                "home":"/var/lib/lockbox/home/eng1","shell":"/bin/bash",
//                "expires_in":3600}],             // or "expires": usec since epoch
//    "groups": [{"name":"eng1","gid":2100000001,"members":["eng1"],"expires_in":3600}]}
//
// expires_in is seconds from now and may be negative (an already expired record).
// Exit 0 on success, 1 if the writer refused (message on stderr), 2 on bad usage.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "clock.h"
#include "nss_cache.h"

namespace {

using nlohmann::json;

lockbox::usec_t expiry_of(const json& j, lockbox::usec_t now) {
    if (j.contains("expires"))
        return j.at("expires").get<lockbox::usec_t>();
    return now + j.value("expires_in", int64_t{3600}) * lockbox::USEC_PER_SEC;
}

int run(const std::string& path, const std::string& text) {
    json spec = json::parse(text);
    lockbox::usec_t now = lockbox::system_clock().now();
    std::vector<lockbox::NssUserEntry> users;
    std::vector<lockbox::NssGroupEntry> groups;
    for (const auto& u : spec.value("users", json::array())) {
        lockbox::NssUserEntry e;
        e.name = u.at("name").get<std::string>();
        e.uid = u.at("uid").get<uint32_t>();
        e.gid = u.value("gid", e.uid);
        e.gecos = u.value("gecos", std::string());
        e.home = u.value("home", "/var/lib/lockbox/home/" + e.name);
        e.shell = u.value("shell", std::string("/bin/bash"));
        e.expires = expiry_of(u, now);
        users.push_back(std::move(e));
    }
    for (const auto& g : spec.value("groups", json::array())) {
        lockbox::NssGroupEntry e;
        e.name = g.at("name").get<std::string>();
        e.gid = g.at("gid").get<uint32_t>();
        e.members = g.value("members", std::vector<std::string>());
        e.expires = expiry_of(g, now);
        groups.push_back(std::move(e));
    }
    auto st = lockbox::write_nss_cache(path, users, groups);
    if (!st) {
        std::fprintf(stderr, "nss_cache_tool: %s: %s\n", lockbox::errc_name(st.error().code),
                     st.error().message.c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::string(argv[1]) != "write") {
        std::fprintf(stderr, "usage: nss_cache_tool write PATH < spec.json\n");
        return 2;
    }
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    try {
        return run(argv[2], text);
    } catch (const json::exception& e) {
        std::fprintf(stderr, "nss_cache_tool: bad spec: %s\n", e.what());
        return 2;
    }
}

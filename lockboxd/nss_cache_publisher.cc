#include "nss_cache_publisher.h"

#include <algorithm>
#include <map>
#include <set>

#include "access_level.h"
#include "state_files.h"

namespace lockboxd {

uint32_t access_group_gid(const lockbox::Config& config, size_t rank) {
    return config.uid_max - 1 - static_cast<uint32_t>(rank);
}

uint32_t highest_engineer_uid(const lockbox::Config& config) {
    return config.uid_max - 1 - static_cast<uint32_t>(lockbox::MAX_ACCESS_LEVELS);
}

bool is_lockbox_group_name(const lockbox::Config& config, std::string_view name) {
    if (name == GRANTEES_GROUP)
        return true;
    return name.starts_with(lockbox::ACCESS_GROUP_PREFIX) &&
           lockbox::access_level_rank(config.access_levels, name.substr(lockbox::ACCESS_GROUP_PREFIX.size()));
}

std::string engineer_home(const lockbox::Config& config, const std::string& name) {
    return config.home_base + "/" + name;
}

std::string engineer_shell(const lockbox::Config& config) { return config.record ? config.record_shell : config.shell; }

NssRecords build_nss_records(const std::vector<NssEngineer>& engineers, const lockbox::Config& config) {
    std::map<std::string, const NssEngineer*> latest;
    for (const auto& e : engineers) {
        auto& slot = latest[e.name];
        if (!slot || e.expires > slot->expires)
            slot = &e;
    }
    NssRecords out;
    lockbox::NssGroupEntry grantees;
    grantees.name = GRANTEES_GROUP;
    grantees.gid = config.uid_max;
    for (const auto& [name, e] : latest) {
        // An engineer of that name would collide with the group and fail every
        // rebuild of the cache: such a grant gives no account at all.
        if (is_lockbox_group_name(config, name))
            continue;
        grantees.members.push_back(name);
        grantees.expires = std::max(grantees.expires, e->expires);
        lockbox::NssUserEntry u;
        u.name = name;
        u.uid = e->uid;
        u.gid = e->uid;
        u.gecos = "Lockbox engineer (ticket " + lockbox::encode_nss_field(e->ticket) + ")";
        u.home = engineer_home(config, name);
        u.shell = engineer_shell(config);
        u.expires = e->expires;
        out.users.push_back(std::move(u));
        lockbox::NssGroupEntry g;
        g.name = name;
        g.gid = e->uid;
        g.expires = e->expires;
        out.groups.push_back(std::move(g));
    }
    if (!grantees.members.empty())
        out.groups.push_back(std::move(grantees));
    // Every grant counts here, not only the latest of each engineer: the
    // customer's rules give the rights of each level the engineer holds.
    // Members gathered in a set: with every engineer at the default level, a
    // linear search per engineer made this O(n^2), ten seconds at 100 000.
    std::map<size_t, lockbox::NssGroupEntry> by_rank;
    std::map<size_t, std::set<std::string>> members_by_rank;
    for (const auto& e : engineers) {
        auto rank = lockbox::access_level_rank(config.access_levels, e.access_level);
        if (!rank || is_lockbox_group_name(config, e.name))
            continue;  // lockboxd refuses such grants; never a group it does not define
        auto& g = by_rank[*rank];
        g.name = lockbox::access_group_name(e.access_level);
        g.gid = access_group_gid(config, *rank);
        members_by_rank[*rank].insert(e.name);
        g.expires = std::max(g.expires, e.expires);
    }
    for (auto& [rank, g] : by_rank) {
        const auto& members = members_by_rank[rank];
        g.members.assign(members.begin(), members.end());  // sorted, each once
        out.groups.push_back(std::move(g));
    }
    return out;
}

PreparedNssCache prepare_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config) {
    PreparedNssCache out;
    NssRecords records = build_nss_records(engineers, config);
    // An engineer goes whole: user and personal group share the name.
    std::set<std::string> refused;
    for (const auto& u : records.users)
        if (auto st = lockbox::validate_nss_user(u); !st) {
            refused.insert(u.name);
            out.dropped.emplace_back(u.name, st.error().message);
        }
    // A refused engineer leaves the shared lockbox-grantees group too, so that
    // one bad record never takes the group (and every engineer's sshd match) along.
    for (auto& g : records.groups)
        std::erase_if(g.members, [&](const std::string& m) { return refused.count(m) > 0; });
    for (const auto& g : records.groups)
        if (auto st = lockbox::validate_nss_group(g); !st && refused.insert(g.name).second)
            out.dropped.emplace_back(g.name, st.error().message);
    if (!refused.empty()) {
        std::erase_if(records.users, [&](const auto& u) { return refused.count(u.name) > 0; });
        std::erase_if(records.groups, [&](const auto& g) { return refused.count(g.name) > 0; });
    }
    auto bytes = lockbox::encode_nss_cache(records.users, records.groups, lockbox::system_clock().now());
    if (bytes)
        out.bytes = std::move(*bytes);
    else
        out.encoded = bytes.error();
    return out;
}

NssPublishReport write_nss_cache_file(const PreparedNssCache& prepared, const lockbox::Config& config) {
    NssPublishReport report;
    report.dropped = prepared.dropped;
    const std::string path = config.nss_cache_path();
    // /run/lockbox is lockboxd's alone; the module refuses a writable-by-others cache.
    report.written = prepared.encoded;
    if (report.written)
        report.written = ensure_directory(config.runtime_dir, 0755);
    if (report.written)
        report.written = lockbox::replace_nss_cache(path, prepared.bytes);
    if (report.written)
        return report;
    // Remove first, then add: a cache that cannot be rebuilt must not keep
    // resolving engineers whose access ended since it was written.
    report.withdrawn = true;
    if (lockbox::write_nss_cache(path, {}, {}))
        return report;
    if (auto st = lockbox::withdraw_nss_cache(path); !st)
        report.withdraw_error = st.error().message;
    return report;
}

NssPublishReport publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config) {
    return write_nss_cache_file(prepare_nss_cache(engineers, config), config);
}

}  // namespace lockboxd

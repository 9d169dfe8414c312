#include "nss_cache_publisher.h"

#include <algorithm>
#include <map>
#include <set>

#include "state_files.h"

namespace lockboxd {

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
        if (name == GRANTEES_GROUP)
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
    return out;
}

NssPublishReport publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config) {
    NssPublishReport report;
    NssRecords records = build_nss_records(engineers, config);
    // An engineer goes whole: user and personal group share the name.
    std::set<std::string> refused;
    for (const auto& u : records.users)
        if (auto st = lockbox::validate_nss_user(u); !st) {
            refused.insert(u.name);
            report.dropped.emplace_back(u.name, st.error().message);
        }
    // A refused engineer leaves the shared lockbox-grantees group too, so that
    // one bad record never takes the group (and every engineer's sshd match) along.
    for (auto& g : records.groups)
        std::erase_if(g.members, [&](const std::string& m) { return refused.count(m) > 0; });
    for (const auto& g : records.groups)
        if (auto st = lockbox::validate_nss_group(g); !st && refused.insert(g.name).second)
            report.dropped.emplace_back(g.name, st.error().message);
    if (!refused.empty()) {
        std::erase_if(records.users, [&](const auto& u) { return refused.count(u.name) > 0; });
        std::erase_if(records.groups, [&](const auto& g) { return refused.count(g.name) > 0; });
    }
    const std::string path = config.nss_cache_path();
    // /run/lockbox is lockboxd's alone; the module refuses a writable-by-others cache.
    report.written = ensure_directory(config.runtime_dir, 0755);
    if (report.written)
        report.written = lockbox::write_nss_cache(path, records.users, records.groups);
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

}  // namespace lockboxd

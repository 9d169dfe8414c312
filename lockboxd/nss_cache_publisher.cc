#include "nss_cache_publisher.h"

#include <algorithm>
#include <map>

#include "state_files.h"

namespace lockboxd {

std::string engineer_home(const lockbox::Config& config, const std::string& name) {
    return config.home_base + "/" + name;
}

std::string engineer_shell(const lockbox::Config& config) {
    return config.record ? config.record_shell : config.shell;
}

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
        u.gecos = "Lockbox engineer (ticket " + e->ticket + ")";
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

lockbox::Status publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config) {
    // /run/lockbox is lockboxd's alone; the module refuses a writable-by-others cache.
    if (auto st = ensure_directory(config.runtime_dir, 0755); !st)
        return st;
    NssRecords records = build_nss_records(engineers, config);
    return lockbox::write_nss_cache(config.nss_cache_path(), records.users, records.groups);
}

}  // namespace lockboxd

#include "roles.h"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace lockbox::approval {

namespace {

constexpr size_t MAX_NSS_BUFFER = 1 << 20;
constexpr int MAX_GROUPS = 65536;

// getgrnam_r with a growing buffer; nullopt when the group does not exist.
bool lookup_gid(const std::string& group, gid_t* gid) {
    std::vector<char> buf(4096);
    for (;;) {
        struct group gr {};
        struct group* res = nullptr;
        int r = getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &res);
        if (r == ERANGE && buf.size() < MAX_NSS_BUFFER) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (r != 0 || !res)
            return false;
        *gid = res->gr_gid;
        return true;
    }
}

}  // namespace

Actor daemon_actor() {
    Actor a;
    a.uid = getuid();
    a.name = "lockbox-approvald";
    a.root = true;
    return a;
}

Result<Actor> resolve_actor(uid_t uid, const Config& config) {
    Actor actor;
    actor.uid = uid;
    actor.root = uid == 0;
    actor.lockbox_account = uid >= config.uid_min && uid <= config.uid_max;

    std::vector<char> buf(4096);
    struct passwd pw {};
    struct passwd* res = nullptr;
    for (;;) {
        int r = getpwuid_r(uid, &pw, buf.data(), buf.size(), &res);
        if (r == ERANGE && buf.size() < MAX_NSS_BUFFER) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (r != 0)
            return make_error(Errc::NssLookupFailed,
                              "cannot look up uid " + std::to_string(uid) + ": " + std::strerror(r));
        break;
    }
    if (!res) {
        actor.name = "uid:" + std::to_string(uid);
        return actor;
    }
    actor.name = res->pw_name;

    std::vector<gid_t> groups(64);
    int n = static_cast<int>(groups.size());
    while (getgrouplist(res->pw_name, res->pw_gid, groups.data(), &n) < 0) {
        if (n <= static_cast<int>(groups.size()) || n > MAX_GROUPS)
            return make_error(Errc::NssLookupFailed, "cannot list the groups of " + actor.name);
        groups.resize(static_cast<size_t>(n));
    }
    groups.resize(static_cast<size_t>(n));

    auto member_of = [&](const std::string& group) {
        gid_t gid = 0;
        if (group.empty() || !lookup_gid(group, &gid))
            return false;
        for (gid_t g : groups)
            if (g == gid)
                return true;
        return false;
    };
    actor.engineer = member_of(config.engineer_group);
    actor.manager = member_of(config.manager_group);
    actor.approver = member_of(config.approver_group);
    return actor;
}

std::vector<std::string> role_names(const Actor& actor) {
    std::vector<std::string> names;
    for (auto [held, name] : {std::pair{actor.root, "root"}, std::pair{actor.engineer, "engineer"},
                              std::pair{actor.manager, "manager"}, std::pair{actor.approver, "approver"}})
        if (held)
            names.emplace_back(name);
    return names;
}

}  // namespace lockbox::approval

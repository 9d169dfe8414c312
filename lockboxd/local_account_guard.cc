#include "local_account_guard.h"

#include <cerrno>
#include <fstream>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sstream>
#include <vector>

namespace lockboxd {

std::string services_without_lockbox(const std::string& services) {
    std::istringstream in(services);
    std::vector<std::string> tokens;
    std::string tok;
    bool skipping_actions = false;
    while (in >> tok) {
        if (tok == "lockbox") {
            skipping_actions = true;
            continue;
        }
        if (!tok.empty() && tok.front() == '[' && skipping_actions)
            continue;
        skipping_actions = false;
        tokens.push_back(tok);
    }
    // An action item needs a service before it.
    while (!tokens.empty() && tokens.front().front() == '[')
        tokens.erase(tokens.begin());
    if (tokens.empty())
        return "files";
    std::string out;
    for (const auto& t : tokens)
        out += (out.empty() ? "" : " ") + t;
    return out;
}

lockbox::Status bypass_nss_lockbox(const std::string& nsswitch_path) {
    std::ifstream in(nsswitch_path);
    std::string line;
    bool seen_passwd = false, seen_group = false;
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos)
            line.resize(hash);
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string db = line.substr(0, colon);
        db.erase(0, db.find_first_not_of(" \t"));
        db.erase(db.find_last_not_of(" \t") + 1);
        if (db != "passwd" && db != "group" && db != "shadow" && db != "initgroups")
            continue;
        std::string services = services_without_lockbox(line.substr(colon + 1));
        if (__nss_configure_lookup(db.c_str(), services.c_str()) != 0)
            return lockbox::make_error("nss", "cannot configure NSS lookups for " + db);
        seen_passwd |= db == "passwd";
        seen_group |= db == "group";
    }
    // glibc's defaults for a missing line never include lockbox; nothing to do.
    (void)seen_passwd;
    (void)seen_group;
    return {};
}

lockbox::Status check_no_local_account(const std::string& name, uid_t uid, uint32_t uid_min, uint32_t uid_max) {
    auto ours = [&](uid_t u) { return u >= uid_min && u <= uid_max; };
    std::vector<char> buf(16384);
    struct passwd pw {};
    struct passwd* res = nullptr;
    int r = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
    if (r == 0 && res && !ours(res->pw_uid))
        return lockbox::make_error("local-account", "the name " + name + " belongs to a local account (uid " +
                                                        std::to_string(res->pw_uid) + ")");
    res = nullptr;
    r = getpwuid_r(uid, &pw, buf.data(), buf.size(), &res);
    if (r == 0 && res && std::string(res->pw_name) != name)
        return lockbox::make_error("local-account", "uid " + std::to_string(uid) + " belongs to the local account " +
                                                        res->pw_name);
    struct group gr {};
    struct group* gres = nullptr;
    r = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &gres);
    if (r == 0 && gres && !ours(gres->gr_gid))
        return lockbox::make_error("local-account", "the name " + name + " belongs to a local group (gid " +
                                                        std::to_string(gres->gr_gid) + ")");
    gres = nullptr;
    r = getgrgid_r(uid, &gr, buf.data(), buf.size(), &gres);
    if (r == 0 && gres && std::string(gres->gr_name) != name)
        return lockbox::make_error("local-account", "gid " + std::to_string(uid) + " belongs to the local group " +
                                                        gres->gr_name);
    return {};
}

}  // namespace lockboxd

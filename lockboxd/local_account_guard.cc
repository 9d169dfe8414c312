#include "local_account_guard.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
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
            return lockbox::make_error(lockbox::Errc::NssLookupFailed, "cannot configure NSS lookups for " + db);
        seen_passwd |= db == "passwd";
        seen_group |= db == "group";
    }
    // glibc's defaults for a missing line never include lockbox; nothing to do.
    (void)seen_passwd;
    (void)seen_group;
    return {};
}

namespace {

// A record too large for the first buffer (a group with thousands of members)
// is retried with a larger one, up to this; beyond it the lookup counts as failed.
constexpr size_t FIRST_BUFFER = 16 * 1024;
constexpr size_t MAX_BUFFER = 4 * 1024 * 1024;

// Runs one reentrant lookup: true with *found set when the source answered
// (found or not), false with the errno when it failed. glibc reports "no such
// entry" as 0 with a null result, whatever the sources; any other return is a
// source that could not say (UNAVAIL, TRYAGAIN other than ERANGE).
template <typename Record, typename Key, typename Fn>
bool lookup(Fn fn, Key key, bool* found, int* error) {
    std::vector<char> buf(FIRST_BUFFER);
    for (;;) {
        Record rec{};
        Record* res = nullptr;
        int r = fn(key, &rec, buf.data(), buf.size(), &res);
        if (r == ERANGE && buf.size() < MAX_BUFFER) {
            buf.resize(buf.size() * 4);
            continue;
        }
        if (r != 0) {
            *error = r;
            return false;
        }
        *found = res != nullptr;
        return true;
    }
}

}  // namespace

std::string local_account_files_stamp(const std::string& etc) {
    std::string stamp;
    for (const char* file : {"/passwd", "/group"}) {
        struct stat st {};
        if (::stat((etc + file).c_str(), &st) != 0) {
            stamp += "-;";
            continue;
        }
        stamp += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                 std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
    }
    return stamp;
}

lockbox::Status check_no_local_account(const std::string& name, uid_t uid, const NssLookups& nss) {
    struct Question {
        std::string what;
        bool found = false;
        int error = 0;
        bool answered = false;
    };
    Question q[4] = {{"the user name " + name},
                     {"the uid " + std::to_string(uid)},
                     {"the group name " + name},
                     {"the gid " + std::to_string(uid)}};
    q[0].answered = lookup<struct passwd>(nss.getpwnam_r, name.c_str(), &q[0].found, &q[0].error);
    q[1].answered = lookup<struct passwd>(nss.getpwuid_r, uid, &q[1].found, &q[1].error);
    q[2].answered = lookup<struct group>(nss.getgrnam_r, name.c_str(), &q[2].found, &q[2].error);
    q[3].answered = lookup<struct group>(nss.getgrgid_r, static_cast<gid_t>(uid), &q[3].found, &q[3].error);
    for (const auto& a : q)
        if (a.answered && a.found)
            return lockbox::make_error(lockbox::Errc::NameConflict, a.what +
                                                                        " is known to another NSS source (a local or "
                                                                        "directory account); local accounts win");
    for (const auto& a : q)
        if (!a.answered) {
            const char* e = strerrorname_np(a.error);
            return lockbox::make_error(lockbox::Errc::NssLookupFailed,
                                       "cannot tell whether another NSS source knows " + a.what + " (" +
                                           (e ? e : std::to_string(a.error)) + "); refusing");
        }
    return {};
}

}  // namespace lockboxd

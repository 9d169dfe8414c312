#include "managed_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace lockbox::pam {
namespace {

constexpr size_t MAX_NSS_BUFFER = 1 << 20;
constexpr int MAX_GROUPS = 65536;

template <typename Entry, typename Lookup>
Result<bool> lookup(Entry* entry, std::vector<char>& buf, Lookup&& fn) {
    // Grow on ERANGE as glibc documents, bounded so a broken NSS module cannot
    // make us allocate without limit inside sshd.
    buf.resize(4096);
    for (;;) {
        Entry* result = nullptr;
        int r = fn(entry, buf.data(), buf.size(), &result);
        if (r == 0)
            return result != nullptr;
        if (r != ERANGE)
            return (r == ENOENT || r == ESRCH) ? Result<bool>(false)
                                               : Result<bool>(make_error(Errc::NssLookupFailed, strerror(r)));
        if (buf.size() >= MAX_NSS_BUFFER)
            return make_error(Errc::NssLookupFailed, "NSS entry too large");
        buf.resize(buf.size() * 2);
    }
}

Result<bool> in_group(const std::string& user, gid_t primary, const std::string& group) {
    struct group gr {};
    std::vector<char> buf;
    auto found = lookup(&gr, buf, [&](struct group* g, char* b, size_t n, struct group** out) {
        return getgrnam_r(group.c_str(), g, b, n, out);
    });
    if (!found)
        return found.error();
    if (!*found)
        return false;  // no such group: nobody is in it
    gid_t wanted = gr.gr_gid;

    int count = 64;
    std::vector<gid_t> groups;
    for (;;) {
        groups.resize(static_cast<size_t>(count));
        int n = count;
        if (getgrouplist(user.c_str(), primary, groups.data(), &n) >= 0) {
            groups.resize(static_cast<size_t>(n));
            break;
        }
        if (n <= count || n > MAX_GROUPS)
            return make_error(Errc::NssLookupFailed, "getgrouplist failed");
        count = n;
    }
    for (gid_t g : groups)
        if (g == wanted)
            return true;
    return false;
}

}  // namespace

Result<Membership> classify_user(const std::string& user, const Config& config, const std::string& gate_group) {
    struct passwd pw {};
    std::vector<char> buf;
    auto found = lookup(&pw, buf, [&](struct passwd* p, char* b, size_t n, struct passwd** out) {
        return getpwnam_r(user.c_str(), p, b, n, out);
    });
    if (!found)
        return found.error();
    if (!*found)
        return Membership::unmanaged;
    // root is never gated: a broken config must not be able to lock out the host.
    if (pw.pw_uid == 0)
        return Membership::unmanaged;
    if (pw.pw_uid >= config.uid_min && pw.pw_uid <= config.uid_max)
        return Membership::lockbox_range;
    if (!gate_group.empty()) {
        auto member = in_group(user, pw.pw_gid, gate_group);
        if (!member)
            return member.error();
        if (*member)
            return Membership::gate_group;
    }
    return Membership::unmanaged;
}

const char* membership_name(Membership m) {
    switch (m) {
    case Membership::lockbox_range:
        return "lockbox account";
    case Membership::gate_group:
        return "gate_group member";
    case Membership::unmanaged:
        break;
    }
    return "unmanaged";
}

}  // namespace lockbox::pam

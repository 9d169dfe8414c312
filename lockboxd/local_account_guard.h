// Local accounts always win (docs/design.md §2): a name or uid that any NSS source
// other than nss_lockbox knows (files, sss, ldap, systemd...) is not Lockbox's,
// whatever uid it has, even one inside the lockbox range. lockboxd never asks
// nss_lockbox itself, both to avoid recursion and because its own records would
// look like conflicts: at start-up it tells glibc to use this process's
// passwd/group service lists from nsswitch.conf minus "lockbox"
// (__nss_configure_lookup), so every answer it gets comes from another source.
// The question is asked at install and again at every use (AuthorizedKeys,
// CheckAccess, OpenSession): a name can become local while its grant lives.
#pragma once

#include <cstdint>
#include <grp.h>
#include <pwd.h>
#include <string>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// "files [NOTFOUND=return] lockbox systemd" -> "files [NOTFOUND=return] systemd";
// a lockbox entry takes its action items with it. Empty result -> "files".
std::string services_without_lockbox(const std::string& services);

// Reconfigures this process's passwd, group and shadow lookups. Call before any
// lookup (glibc reads nsswitch.conf once).
lockbox::Status bypass_nss_lockbox(const std::string& nsswitch_path = "/etc/nsswitch.conf");

// The four reentrant lookups the guard makes; the default is glibc's. Unit
// tests put in sources that fail or answer on demand.
struct NssLookups {
    int (*getpwnam_r)(const char*, struct passwd*, char*, size_t, struct passwd**) = ::getpwnam_r;
    int (*getpwuid_r)(uid_t, struct passwd*, char*, size_t, struct passwd**) = ::getpwuid_r;
    int (*getgrnam_r)(const char*, struct group*, char*, size_t, struct group**) = ::getgrnam_r;
    int (*getgrgid_r)(gid_t, struct group*, char*, size_t, struct group**) = ::getgrgid_r;
};

// Success only when no other source knows the name as a user or group, nor uid
// as a user id or group id (lockboxd gives each engineer gid = uid). Errors:
// "name-conflict" naming what answered, or "nss-lookup-failed" when a source
// failed (sssd down, an unreachable directory): not knowing is not "absent".
lockbox::Status check_no_local_account(const std::string& name, uid_t uid, const NssLookups& nss = {});

// Identity of /etc/passwd and /etc/group (inode, size, mtime): any edit by
// useradd, vipw or an editor changes it, so an answer from the files source
// cached under an older stamp is never reused.
std::string local_account_files_stamp(const std::string& etc = "/etc");

}  // namespace lockboxd

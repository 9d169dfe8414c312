// Local accounts always win (DESIGN.md §2): a grant whose engineer name or uid
// already resolves through another NSS source (files, sss, ldap, systemd...) is
// refused. lockboxd must never ask nss_lockbox itself, both to avoid recursion
// and because its own records would look like conflicts: at start-up it tells
// glibc to use this process's passwd/group service lists from nsswitch.conf
// minus "lockbox" (__nss_configure_lookup), and as a second line of defence an
// answer whose uid lies in the lockbox range is taken for our own record.
#pragma once

#include <cstdint>
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

// Error "local-account" naming the source of the conflict, or success.
lockbox::Status check_no_local_account(const std::string& name, uid_t uid, uint32_t uid_min, uint32_t uid_max);

}  // namespace lockboxd

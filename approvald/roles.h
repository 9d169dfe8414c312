// Who is calling and what they may do. The role comes from the caller's euid as
// the bus daemon reports it, and that user's groups from the group database
// (getgrouplist), never from anything the caller sends (docs/design.md §6).
#pragma once

#include <string>
#include <vector>
#include <sys/types.h>

#include "config.h"
#include "result.h"

namespace lockbox::approval {

struct Actor {
    uid_t uid = static_cast<uid_t>(-1);
    std::string name;  // login name; "uid:N" for a uid without a passwd entry
    bool root = false;
    bool engineer = false;
    bool manager = false;
    bool approver = false;
    // The uid is in [Accounts] UIDMin..UIDMax: an engineer logged in through
    // Lockbox on this host, whose account (served by nss_lockbox) is in none of
    // the role groups. It may release its own grant, nothing else.
    bool lockbox_account = false;

    bool may_read() const { return root || engineer || manager || approver; }
};

// The daemon itself, as actor of the records it writes on its own (expiry).
Actor daemon_actor();

// Resolves uid → passwd entry → group list → roles by the configured group names.
// A uid unknown to the passwd database gets no role (and is still named).
Result<Actor> resolve_actor(uid_t uid, const Config& config);

// The actor's roles by name ("root", "engineer", "manager", "approver"), in that
// order; empty for a user with none. What GetCallerRoles tells the caller.
std::vector<std::string> role_names(const Actor& actor);

}  // namespace lockbox::approval

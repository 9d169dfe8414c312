// Turns the engineers with an active grant into the passwd and group records
// libnss_lockbox serves, and publishes them through liblockbox's writer (atomic
// replace, one format definition shared with the reader).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "clock.h"
#include "config.h"
#include "nss_cache.h"
#include "result.h"

namespace lockboxd {

// Every engineer with an active grant is a member of this group, served by
// nss_lockbox with gid UIDMax (which the uid allocator never hands out). sshd
// matches it (`Match Group lockbox-grantees` in the shipped drop-in) to turn off
// the engineer's own key files, forwarding and ~/.ssh/rc: the name is what
// binds the drop-in to the NSS records, keep the two in step.
inline constexpr const char* GRANTEES_GROUP = "lockbox-grantees";

struct NssEngineer {
    std::string name;
    uint32_t uid = 0;
    std::string ticket;
    lockbox::usec_t expires = 0;  // the grant's exp: the record dies with it
};

struct NssRecords {
    std::vector<lockbox::NssUserEntry> users;
    std::vector<lockbox::NssGroupEntry> groups;
};

// One passwd entry (uid = gid = allocated uid) and one personal group per
// engineer, and GRANTEES_GROUP listing them all; an engineer with several
// active grants appears once, with the latest exp. The ticket reaches the gecos
// field through encode_nss_field, so no grant can make the writer refuse the
// file (docs/nss.md).
NssRecords build_nss_records(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);
std::string engineer_home(const lockbox::Config& config, const std::string& name);
std::string engineer_shell(const lockbox::Config& config);

struct NssPublishReport {
    // Engineers left out because the writer refused their records (name, why).
    std::vector<std::pair<std::string, std::string>> dropped;
    // The write of the rest; on failure the old file was withdrawn (or an
    // empty one written) so that nobody whose access ended keeps resolving.
    lockbox::Status written;
    bool withdrawn = false;
    std::string withdraw_error;  // set when even the withdrawal failed
};

// Never keeps a stale cache: records that fail validation are dropped one by
// one, and when the file cannot be written at all the old one is replaced by an
// empty cache, or else removed.
NssPublishReport publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);

}  // namespace lockboxd

// Turns the engineers with an active grant into the passwd and group records
// libnss_lockbox serves, and publishes them through liblockbox's writer (atomic
// replace, one format definition shared with the reader).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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

// Access level groups (access_level.h): lockbox-<level> takes gid
// UIDMax - 1 - rank, so the top MAX_ACCESS_LEVELS + 1 ids of the range are
// groups and engineer uids stop below them.
uint32_t access_group_gid(const lockbox::Config& config, size_t rank);
uint32_t highest_engineer_uid(const lockbox::Config& config);
// GRANTEES_GROUP or a level group of config: no engineer may have that name.
bool is_lockbox_group_name(const lockbox::Config& config, std::string_view name);

struct NssEngineer {
    std::string name;
    uint32_t uid = 0;
    std::string ticket;
    lockbox::usec_t expires = 0;  // the grant's exp: the record dies with it
    std::string access_level;     // the grant's level (effective_access_level)
};

struct NssRecords {
    std::vector<lockbox::NssUserEntry> users;
    std::vector<lockbox::NssGroupEntry> groups;
};

// One passwd entry (uid = gid = allocated uid) and one personal group per
// engineer, and GRANTEES_GROUP listing them all; an engineer with several
// active grants appears once, with the latest exp. The ticket reaches the gecos
// field through encode_nss_field, so no grant can make the writer refuse the
// file (docs/nss.md). Each level of [Access] Levels= that an active grant
// carries is a group lockbox-<level> whose members are exactly the engineers
// holding such a grant (one with grants at two levels is in both groups).
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

// The two halves of publish_nss_cache, so that the slow one (building and
// encoding every record: about a second at 100 000 engineers) can run off the
// event loop (nss_cache_rebuilder.h) and the bytes be patched before the write.
struct PreparedNssCache {
    std::vector<uint8_t> bytes;  // the encoded file, when encoded is a success
    lockbox::Status encoded;
    std::vector<std::pair<std::string, std::string>> dropped;  // as in NssPublishReport
};
PreparedNssCache prepare_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);
NssPublishReport write_nss_cache_file(const PreparedNssCache& prepared, const lockbox::Config& config);

// Never keeps a stale cache: records that fail validation are dropped one by
// one, and when the file cannot be written at all the old one is replaced by an
// empty cache, or else removed.
NssPublishReport publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);

}  // namespace lockboxd

// Turns the engineers with an active grant into the passwd and group records
// libnss_lockbox serves, and publishes them through liblockbox's writer (atomic
// replace, one format definition shared with the reader).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "config.h"
#include "nss_cache.h"
#include "result.h"

namespace lockboxd {

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
// engineer; an engineer with several active grants appears once, with the
// latest exp.
NssRecords build_nss_records(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);
std::string engineer_home(const lockbox::Config& config, const std::string& name);
std::string engineer_shell(const lockbox::Config& config);

lockbox::Status publish_nss_cache(const std::vector<NssEngineer>& engineers, const lockbox::Config& config);

}  // namespace lockboxd

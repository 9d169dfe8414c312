// Writer side of the NSS cache (/run/lockbox/nss.cache) that libnss_lockbox.so.2
// maps. The binary layout is in nss_cache_format.h (C-compatible, shared with the
// reader). The writer builds the file in a temp file beside the target, fsyncs it,
// marks the previous file stale inside its header, then renames over it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockbox {

struct NssUserEntry {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string gecos;
    std::string home;
    std::string shell;
    usec_t expires = 0;   // the record stops resolving at this time, daemon or not
};

struct NssGroupEntry {
    std::string name;
    uint32_t gid = 0;
    std::vector<std::string> members;
    usec_t expires = 0;
};

Status write_nss_cache(const std::string& path, const std::vector<NssUserEntry>& users,
                       const std::vector<NssGroupEntry>& groups);

}  // namespace lockbox

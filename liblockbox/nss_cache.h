// Writer side of the NSS cache (/run/lockbox/nss.cache) that libnss_lockbox.so.2
// maps. The binary layout is in nss_cache_format.h (C-compatible, shared with the
// reader). The writer builds the file in a temp file beside the target, fsyncs it,
// marks the previous file stale inside its header, then renames over it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
    usec_t expires = 0;  // the record stops resolving at this time, daemon or not
};

struct NssGroupEntry {
    std::string name;
    uint32_t gid = 0;
    std::vector<std::string> members;
    usec_t expires = 0;
};

// The file's bytes. Refuses (code "invalid-entry") names that are not valid login
// names, uid/gid 0, duplicate names or ids, strings with ':', '\n' or NUL or longer
// than LOCKBOX_NSS_CACHE_MAX_STRING, home/shell that are not absolute paths.
Result<std::vector<uint8_t>> encode_nss_cache(const std::vector<NssUserEntry>& users,
                                              const std::vector<NssGroupEntry>& groups, usec_t written_at);

// One entry alone, by the rules encode_nss_cache applies to each (duplicates
// aside): a publisher drops what fails here instead of losing the whole file.
Status validate_nss_user(const NssUserEntry& user);
Status validate_nss_group(const NssGroupEntry& group);

// Text made safe for a passwd/group field: '%', ':', ',', '\\' and every byte
// outside printable ASCII become %XX (upper-case hex), so "INC:4711" gives
// "INC%3A4711". Lossless, and the result always passes the writer's field check
// when it fits LOCKBOX_NSS_CACHE_MAX_STRING.
std::string encode_nss_field(std::string_view text);

// Encodes, then replaces `path` atomically: a temp file beside it (O_EXCL), mode
// 0644, fsync, the old file marked stale, rename, fsync of the directory. Readers
// see either the old or the new file, never a partial one.
Status write_nss_cache(const std::string& path, const std::vector<NssUserEntry>& users,
                       const std::vector<NssGroupEntry>& groups);

// The atomic replace of write_nss_cache for bytes already encoded (and perhaps
// patched by expire_nss_names). Unsynced skips both fsyncs: still atomic for
// every reader, only not durable across a power loss. lockboxd's withdrawals
// use it: fsyncing a 20 MB file would hold its event loop for 100 ms where
// /run is on disk, and a withdrawal lost in a power loss matters to nobody,
// since every process dies with the host and lockboxd rebuilds the whole
// cache before it takes its bus name.
enum class Durability { Synced, Unsynced };
Status replace_nss_cache(const std::string& path, const std::vector<uint8_t>& bytes,
                         Durability durability = Durability::Synced);

// Sets `expires` to 0 in the passwd record and the group record of each name
// found in an encoded cache, in place: the name stops resolving in the file
// written from these bytes, with no re-encoding (O(names), whatever the size of
// the cache). Group member lists keep the name: a member that does not resolve
// gives nobody anything. The bytes are checked as the reader checks them;
// Errc::InvalidArgument when they are not a cache this writer could have made.
// Returns how many records it expired.
Result<size_t> expire_nss_names(std::vector<uint8_t>& bytes, const std::vector<std::string>& names);

// Last resort when no new cache can be written: marks the current file stale
// and removes it, so every reader (a mapping included) resolves nobody rather
// than the records of engineers whose access ended. Success if no file is left.
Status withdraw_nss_cache(const std::string& path);

}  // namespace lockbox

// The process-wide mapping of the cache file, shared by every thread and kept
// across calls. The hot path is a read lock and one load of the header's stale
// word: no syscall. The file is reopened only when the writer marked it stale,
// on first use, or when enumeration starts.
#pragma once

#include "nss_cache_reader.h"

namespace lockbox::nss {

// On true, a read lock is held and *v stays valid until cache_release(). On false
// (no file, foreign owner, writable by others, corrupt), nothing is held.
bool cache_acquire(CacheView* v);
void cache_release();

// Checks the path even without a stale mark (setpwent/setgrent: enumeration is
// rare, and a file replaced by something other than our writer is noticed there).
void cache_revalidate();

// Enumeration cursors (getpwent/getgrent), under their own lock.
struct EnumCursors {
    uint64_t next_user;
    uint64_t next_group;
};
EnumCursors* enum_lock();
void enum_unlock();

}  // namespace lockbox::nss

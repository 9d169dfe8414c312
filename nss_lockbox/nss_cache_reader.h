// Read side of the NSS cache: validation of a byte range as a cache and O(1)
// lookups in it. Pure functions over memory, so the module, the fuzzer and the
// unit tests run the same code. Freestanding C++: libc only, no allocation, no
// exceptions; every offset read from the file is checked before it is followed.
#pragma once

#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>

#include "nss_cache_format.h"

namespace lockbox::nss {

struct CacheView {
    const uint8_t* base = nullptr;
    uint64_t size = 0;
    const lockbox_nss_cache_header* header = nullptr;
};

// O(1) checks of the header and section bounds. `data` must be 8-byte aligned.
bool view_open(CacheView* v, const void* data, uint64_t size);
// The writer set the stale flag: the path now names (or will soon name) a newer file.
bool view_is_stale(const CacheView* v);

int64_t realtime_now_usec();
// CLOCK_REALTIME_COARSE: no clock-source read, at most one tick (≤ 10 ms) behind.
int64_t realtime_coarse_usec();
// For a record found live at a coarse `now`: still live at the precise time?
// Reads the precise clock only within the coarse clock's error of the expiry, so
// expiry stays exact to the microsecond while the common lookup skips that read.
bool live_at_precise_time(int64_t expires, int64_t coarse_now);

// Lookups return only records that are live at `now` (now < expires) and sane
// (non-empty name, no uid/gid 0); nullptr otherwise.
const lockbox_nss_cache_user* find_user_by_name(const CacheView* v, const char* name, int64_t now);
const lockbox_nss_cache_user* find_user_by_uid(const CacheView* v, uint32_t uid, int64_t now);
const lockbox_nss_cache_group* find_group_by_name(const CacheView* v, const char* name, int64_t now);
const lockbox_nss_cache_group* find_group_by_gid(const CacheView* v, uint32_t gid, int64_t now);
// For enumeration: the record at `index`, or nullptr if it is out of range or not live.
const lockbox_nss_cache_user* user_at(const CacheView* v, uint64_t index, int64_t now);
const lockbox_nss_cache_group* group_at(const CacheView* v, uint64_t index, int64_t now);
uint64_t user_count(const CacheView* v);
uint64_t group_count(const CacheView* v);

enum class Fill { ok, erange, invalid };
// Copies the record into the caller's buffer (glibc's getpwnam_r contract).
Fill fill_passwd(const CacheView* v, const lockbox_nss_cache_user* u, struct passwd* pw, char* buf, size_t buflen);
Fill fill_group(const CacheView* v, const lockbox_nss_cache_group* g, struct group* gr, char* buf, size_t buflen);

// Calls fn(gid, ctx) for every live group that lists `member`; stops when fn
// returns false. Returns false if it stopped early.
using GidVisitor = bool (*)(uint32_t gid, void* ctx);
bool for_each_group_of(const CacheView* v, const char* member, int64_t now, GidVisitor fn, void* ctx);

}  // namespace lockbox::nss

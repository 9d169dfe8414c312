#include "nss_cache_reader.h"

#include <string.h>
#include <time.h>

namespace lockbox::nss {
namespace {

static_assert(sizeof(lockbox_nss_cache_header) % LOCKBOX_NSS_CACHE_ALIGN == 0);

// Checks one section against the file size; elem = 1 for the string table.
bool section_ok(const lockbox_nss_cache_section& s, uint64_t elem, uint64_t max_count, uint64_t size) {
    if (s.offset % LOCKBOX_NSS_CACHE_ALIGN != 0 || s.offset < sizeof(lockbox_nss_cache_header))
        return false;
    if (s.offset > size || s.count > max_count)
        return false;
    // Both factors are bounded (count ≤ 256 Mi, elem ≤ 40), so no overflow.
    return s.count * elem <= size - s.offset;
}

bool slots_ok(const lockbox_nss_cache_section& s, uint64_t size) {
    return s.count >= 1 && (s.count & (s.count - 1)) == 0 &&
           section_ok(s, sizeof(lockbox_nss_cache_slot), LOCKBOX_NSS_CACHE_MAX_RECORDS * 2ull, size);
}

template <typename T>
const T* element(const CacheView* v, const lockbox_nss_cache_section& s, uint64_t i) {
    if (i >= s.count)
        return nullptr;
    return reinterpret_cast<const T*>(v->base + s.offset) + i;
}

// nullptr for an offset outside the table; the table's last byte is NUL (checked in
// view_open), so every in-range offset starts a terminated string.
const char* string_at(const CacheView* v, uint32_t off) {
    if (off >= v->header->strings.count)
        return nullptr;
    return reinterpret_cast<const char*>(v->base + v->header->strings.offset) + off;
}

bool name_is(const CacheView* v, uint32_t off, const char* name) {
    const char* s = string_at(v, off);
    return s && strcmp(s, name) == 0;
}

bool user_live(const CacheView* v, const lockbox_nss_cache_user* u, int64_t now) {
    // uid/gid 0 refused even though the writer never emits them: a cache must not
    // be able to create a root alias.
    if (!u || u->uid == 0 || u->gid == 0 || now >= u->expires)
        return false;
    const char* n = string_at(v, u->name);
    return n && *n;
}

bool group_live(const CacheView* v, const lockbox_nss_cache_group* g, int64_t now) {
    if (!g || g->gid == 0 || now >= g->expires)
        return false;
    const char* n = string_at(v, g->name);
    return n && *n;
}

// Linear probing from hash for slots holding `key`; returns the first index that
// `match` confirms, or NONE. The step bound ends the walk in a corrupt table with
// no empty slot.
template <typename Match>
uint32_t probe(const CacheView* v, const lockbox_nss_cache_section& slots, uint32_t hash, uint32_t key, Match match) {
    const auto* table = reinterpret_cast<const lockbox_nss_cache_slot*>(v->base + slots.offset);
    const uint64_t mask = slots.count - 1;
    uint64_t i = hash & mask;
    for (uint64_t steps = 0; steps < slots.count; steps++, i = (i + 1) & mask) {
        const lockbox_nss_cache_slot& slot = table[i];
        if (slot.index == LOCKBOX_NSS_CACHE_NONE)
            return LOCKBOX_NSS_CACHE_NONE;
        if (slot.key == key && match(slot.index))
            return slot.index;
    }
    return LOCKBOX_NSS_CACHE_NONE;
}

// Appends a string to the caller's buffer; false when it does not fit.
bool put(char** cursor, size_t* left, const char* s, char** out) {
    size_t n = strlen(s) + 1;
    if (n > *left)
        return false;
    memcpy(*cursor, s, n);
    *out = *cursor;
    *cursor += n;
    *left -= n;
    return true;
}

}  // namespace

bool view_open(CacheView* v, const void* data, uint64_t size) {
    *v = CacheView{};
    if (!data || size < sizeof(lockbox_nss_cache_header) || size > LOCKBOX_NSS_CACHE_MAX_SIZE ||
        reinterpret_cast<uintptr_t>(data) % LOCKBOX_NSS_CACHE_ALIGN != 0)
        return false;
    const auto* h = static_cast<const lockbox_nss_cache_header*>(data);
    if (memcmp(h->magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE) != 0 ||
        h->version != LOCKBOX_NSS_CACHE_VERSION || h->header_size != sizeof(lockbox_nss_cache_header) ||
        h->byte_order != LOCKBOX_NSS_CACHE_BYTE_ORDER || h->file_size != size)
        return false;
    const uint64_t max = LOCKBOX_NSS_CACHE_MAX_RECORDS;
    if (!section_ok(h->users, sizeof(lockbox_nss_cache_user), max, size) || !slots_ok(h->user_name_slots, size) ||
        !slots_ok(h->user_id_slots, size) || !section_ok(h->groups, sizeof(lockbox_nss_cache_group), max, size) ||
        !slots_ok(h->group_name_slots, size) || !slots_ok(h->group_id_slots, size) ||
        !section_ok(h->group_members, sizeof(uint32_t), max, size) ||
        !section_ok(h->memberships, sizeof(lockbox_nss_cache_membership), max, size) ||
        !slots_ok(h->membership_slots, size) || !section_ok(h->membership_groups, sizeof(uint32_t), max, size) ||
        !section_ok(h->strings, 1, LOCKBOX_NSS_CACHE_MAX_SIZE, size))
        return false;
    const auto* base = static_cast<const uint8_t*>(data);
    if (h->strings.count == 0 || base[h->strings.offset + h->strings.count - 1] != '\0')
        return false;
    v->base = base;
    v->size = size;
    v->header = h;
    return true;
}

bool view_is_stale(const CacheView* v) {
    // The writer stores into the page we map (MAP_SHARED) from another process.
    return __atomic_load_n(&v->header->stale, __ATOMIC_ACQUIRE) != 0;
}

int64_t realtime_now_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int64_t realtime_coarse_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

bool live_at_precise_time(int64_t expires, int64_t coarse_now) {
    // 20 ms covers one tick at HZ=100 with margin.
    constexpr int64_t coarse_error_usec = 20000;
    if (expires - coarse_now > coarse_error_usec)
        return true;
    return realtime_now_usec() < expires;
}

const lockbox_nss_cache_user* find_user_by_name(const CacheView* v, const char* name, int64_t now) {
    const auto* h = v->header;
    uint32_t hash = lockbox_nss_cache_hash_name(name);
    uint32_t i = probe(v, h->user_name_slots, hash, hash, [&](uint32_t idx) {
        const auto* r = element<lockbox_nss_cache_user>(v, h->users, idx);
        return r && name_is(v, r->name, name);
    });
    const auto* u = element<lockbox_nss_cache_user>(v, h->users, i);
    return user_live(v, u, now) ? u : nullptr;
}

const lockbox_nss_cache_user* find_user_by_uid(const CacheView* v, uint32_t uid, int64_t now) {
    const auto* h = v->header;
    uint32_t i = probe(v, h->user_id_slots, lockbox_nss_cache_hash_id(uid), uid, [&](uint32_t idx) {
        const auto* r = element<lockbox_nss_cache_user>(v, h->users, idx);
        return r && r->uid == uid;
    });
    const auto* u = element<lockbox_nss_cache_user>(v, h->users, i);
    return user_live(v, u, now) ? u : nullptr;
}

const lockbox_nss_cache_group* find_group_by_name(const CacheView* v, const char* name, int64_t now) {
    const auto* h = v->header;
    uint32_t hash = lockbox_nss_cache_hash_name(name);
    uint32_t i = probe(v, h->group_name_slots, hash, hash, [&](uint32_t idx) {
        const auto* r = element<lockbox_nss_cache_group>(v, h->groups, idx);
        return r && name_is(v, r->name, name);
    });
    const auto* g = element<lockbox_nss_cache_group>(v, h->groups, i);
    return group_live(v, g, now) ? g : nullptr;
}

const lockbox_nss_cache_group* find_group_by_gid(const CacheView* v, uint32_t gid, int64_t now) {
    const auto* h = v->header;
    uint32_t i = probe(v, h->group_id_slots, lockbox_nss_cache_hash_id(gid), gid, [&](uint32_t idx) {
        const auto* r = element<lockbox_nss_cache_group>(v, h->groups, idx);
        return r && r->gid == gid;
    });
    const auto* g = element<lockbox_nss_cache_group>(v, h->groups, i);
    return group_live(v, g, now) ? g : nullptr;
}

const lockbox_nss_cache_user* user_at(const CacheView* v, uint64_t index, int64_t now) {
    const auto* u = element<lockbox_nss_cache_user>(v, v->header->users, index);
    return user_live(v, u, now) ? u : nullptr;
}

const lockbox_nss_cache_group* group_at(const CacheView* v, uint64_t index, int64_t now) {
    const auto* g = element<lockbox_nss_cache_group>(v, v->header->groups, index);
    return group_live(v, g, now) ? g : nullptr;
}

uint64_t user_count(const CacheView* v) { return v->header->users.count; }
uint64_t group_count(const CacheView* v) { return v->header->groups.count; }

Fill fill_passwd(const CacheView* v, const lockbox_nss_cache_user* u, struct passwd* pw, char* buf, size_t buflen) {
    const char* name = string_at(v, u->name);
    const char* gecos = string_at(v, u->gecos);
    const char* home = string_at(v, u->home);
    const char* shell = string_at(v, u->shell);
    if (!name || !gecos || !home || !shell)
        return Fill::invalid;
    char* cursor = buf;
    size_t left = buflen;
    // "*": no password here, and not "x" (a shadow marker) — pam_unix's account
    // check then admits the user without a shadow entry.
    if (!put(&cursor, &left, name, &pw->pw_name) || !put(&cursor, &left, "*", &pw->pw_passwd) ||
        !put(&cursor, &left, gecos, &pw->pw_gecos) || !put(&cursor, &left, home, &pw->pw_dir) ||
        !put(&cursor, &left, shell, &pw->pw_shell))
        return Fill::erange;
    pw->pw_uid = u->uid;
    pw->pw_gid = u->gid;
    return Fill::ok;
}

Fill fill_group(const CacheView* v, const lockbox_nss_cache_group* g, struct group* gr, char* buf, size_t buflen) {
    const auto* h = v->header;
    const char* name = string_at(v, g->name);
    if (!name || g->members_start > h->group_members.count ||
        g->members_count > h->group_members.count - g->members_start)
        return Fill::invalid;
    const auto* members = reinterpret_cast<const uint32_t*>(v->base + h->group_members.offset) + g->members_start;
    // gr_mem first, at pointer alignment; the strings follow it.
    size_t pad = (alignof(char*) - reinterpret_cast<uintptr_t>(buf) % alignof(char*)) % alignof(char*);
    size_t array = (static_cast<size_t>(g->members_count) + 1) * sizeof(char*);
    if (buflen < pad || buflen - pad < array)
        return Fill::erange;
    char** mem = reinterpret_cast<char**>(buf + pad);
    char* cursor = buf + pad + array;
    size_t left = buflen - pad - array;
    for (uint32_t i = 0; i < g->members_count; i++) {
        const char* m = string_at(v, members[i]);
        if (!m)
            return Fill::invalid;
        if (!put(&cursor, &left, m, &mem[i]))
            return Fill::erange;
    }
    mem[g->members_count] = nullptr;
    if (!put(&cursor, &left, name, &gr->gr_name) || !put(&cursor, &left, "*", &gr->gr_passwd))
        return Fill::erange;
    gr->gr_gid = g->gid;
    gr->gr_mem = mem;
    return Fill::ok;
}

bool for_each_group_of(const CacheView* v, const char* member, int64_t now, GidVisitor fn, void* ctx) {
    const auto* h = v->header;
    uint32_t hash = lockbox_nss_cache_hash_name(member);
    uint32_t found = probe(v, h->membership_slots, hash, hash, [&](uint32_t idx) {
        const auto* r = element<lockbox_nss_cache_membership>(v, h->memberships, idx);
        return r && name_is(v, r->name, member);
    });
    const auto* m = element<lockbox_nss_cache_membership>(v, h->memberships, found);
    if (!m || m->groups_start > h->membership_groups.count ||
        m->groups_count > h->membership_groups.count - m->groups_start)
        return true;
    const auto* list = reinterpret_cast<const uint32_t*>(v->base + h->membership_groups.offset) + m->groups_start;
    for (uint32_t i = 0; i < m->groups_count; i++) {
        const auto* g = group_at(v, list[i], now);
        if (g && !fn(g->gid, ctx))
            return false;
    }
    return true;
}

}  // namespace lockbox::nss

// group database: getgrnam_r, getgrgid_r, enumeration and initgroups_dyn.
#include <grp.h>
#include <stdlib.h>
#include <string.h>

#include "nss_cache_mapping.h"
#include "nss_entry.h"

namespace lockbox::nss {
namespace {

nss_status to_status(Fill f, int* err) {
    switch (f) {
    case Fill::ok:
        return NSS_STATUS_SUCCESS;
    case Fill::erange:
        *err = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    case Fill::invalid:
        break;
    }
    return NSS_STATUS_NOTFOUND;
}

template <typename Find>
nss_status lookup(group* gr, char* buf, size_t buflen, int* errnop, Find find) {
    return with_errno_protected(errnop, [&](int* err) {
        if (!gr || !buf)
            return NSS_STATUS_NOTFOUND;
        CacheView v;
        if (!cache_acquire(&v))
            return NSS_STATUS_NOTFOUND;
        nss_status s = NSS_STATUS_NOTFOUND;
        int64_t now = realtime_coarse_usec();
        const auto* g = find(&v, now);
        if (g && live_at_precise_time(g->expires, now))
            s = to_status(fill_group(&v, g, gr, buf, buflen), err);
        cache_release();
        return s;
    });
}

// glibc's initgroups_dyn contract: append to a growable array, skip the primary
// group, never exceed `limit` (if positive).
struct GroupList {
    gid_t primary;
    long* start;
    long* size;
    gid_t** groups;
    long limit;
    int error;
    bool added;
};

bool add_gid(uint32_t gid, void* ctx) {
    auto* l = static_cast<GroupList*>(ctx);
    if (gid == l->primary)
        return true;
    for (long i = 0; i < *l->start; i++)
        if ((*l->groups)[i] == gid)
            return true;
    if (l->limit > 0 && *l->start >= l->limit)
        return false;
    if (*l->start >= *l->size) {
        long n = *l->size > 0 ? *l->size * 2 : 8;
        if (l->limit > 0 && n > l->limit)
            n = l->limit;
        auto* grown = static_cast<gid_t*>(realloc(*l->groups, static_cast<size_t>(n) * sizeof(gid_t)));
        if (!grown) {
            l->error = ENOMEM;
            return false;
        }
        *l->groups = grown;
        *l->size = n;
    }
    (*l->groups)[(*l->start)++] = gid;
    l->added = true;
    return true;
}

}  // namespace
}  // namespace lockbox::nss

using namespace lockbox::nss;

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getgrnam_r(const char* name, group* gr, char* buf, size_t buflen,
                                                      int* errnop) {
    if (!name_acceptable(name))
        return NSS_STATUS_NOTFOUND;
    return lookup(gr, buf, buflen, errnop,
                  [name](const CacheView* v, int64_t now) { return find_group_by_name(v, name, now); });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getgrgid_r(gid_t gid, group* gr, char* buf, size_t buflen, int* errnop) {
    return lookup(gr, buf, buflen, errnop,
                  [gid](const CacheView* v, int64_t now) { return find_group_by_gid(v, gid, now); });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_setgrent(int /*stayopen*/) {
    return with_errno_protected(nullptr, [](int*) {
        enum_lock()->next_group = 0;
        enum_unlock();
        cache_revalidate();
        return NSS_STATUS_SUCCESS;
    });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_endgrent(void) {
    return with_errno_protected(nullptr, [](int*) {
        enum_lock()->next_group = 0;
        enum_unlock();
        return NSS_STATUS_SUCCESS;
    });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getgrent_r(group* gr, char* buf, size_t buflen, int* errnop) {
    return with_errno_protected(errnop, [&](int* err) {
        if (!gr || !buf)
            return NSS_STATUS_NOTFOUND;
        EnumCursors* c = enum_lock();
        nss_status s = NSS_STATUS_NOTFOUND;
        CacheView v;
        if (cache_acquire(&v)) {
            int64_t now = realtime_now_usec();
            for (; c->next_group < group_count(&v); c->next_group++) {
                const auto* g = group_at(&v, c->next_group, now);
                if (!g)
                    continue;
                s = to_status(fill_group(&v, g, gr, buf, buflen), err);
                if (s == NSS_STATUS_TRYAGAIN)
                    break;
                if (s == NSS_STATUS_SUCCESS) {
                    c->next_group++;
                    break;
                }
            }
            cache_release();
        }
        enum_unlock();
        return s;
    });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_initgroups_dyn(const char* user, gid_t group_id, long* start, long* size,
                                                          gid_t** groupsp, long limit, int* errnop) {
    if (!name_acceptable(user) || !start || !size || !groupsp || *start < 0 || *size < *start)
        return NSS_STATUS_NOTFOUND;
    return with_errno_protected(errnop, [&](int* err) {
        CacheView v;
        if (!cache_acquire(&v))
            return NSS_STATUS_NOTFOUND;
        GroupList l{group_id, start, size, groupsp, limit, 0, false};
        for_each_group_of(&v, user, realtime_now_usec(), add_gid, &l);
        cache_release();
        if (l.error != 0) {
            *err = l.error;
            return NSS_STATUS_TRYAGAIN;
        }
        return l.added ? NSS_STATUS_SUCCESS : NSS_STATUS_NOTFOUND;
    });
}

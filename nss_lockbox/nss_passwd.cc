// passwd database: getpwnam_r, getpwuid_r and enumeration.
#include <pwd.h>
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
        *err = ERANGE;  // glibc doubles the buffer and asks again
        return NSS_STATUS_TRYAGAIN;
    case Fill::invalid:
        break;
    }
    return NSS_STATUS_NOTFOUND;
}

template <typename Find>
nss_status lookup(passwd* pw, char* buf, size_t buflen, int* errnop, Find find) {
    return with_errno_protected(errnop, [&](int* err) {
        if (!pw || !buf)
            return NSS_STATUS_NOTFOUND;
        CacheView v;
        if (!cache_acquire(&v))
            return NSS_STATUS_NOTFOUND;
        nss_status s = NSS_STATUS_NOTFOUND;
        int64_t now = realtime_coarse_usec();
        const auto* u = find(&v, now);
        if (u && live_at_precise_time(u->expires, now))
            s = to_status(fill_passwd(&v, u, pw, buf, buflen), err);
        cache_release();
        return s;
    });
}

}  // namespace
}  // namespace lockbox::nss

using namespace lockbox::nss;

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getpwnam_r(const char* name, passwd* pw, char* buf, size_t buflen,
                                                      int* errnop) {
    if (!name_acceptable(name))
        return NSS_STATUS_NOTFOUND;
    return lookup(pw, buf, buflen, errnop,
                  [name](const CacheView* v, int64_t now) { return find_user_by_name(v, name, now); });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getpwuid_r(uid_t uid, passwd* pw, char* buf, size_t buflen, int* errnop) {
    return lookup(pw, buf, buflen, errnop,
                  [uid](const CacheView* v, int64_t now) { return find_user_by_uid(v, uid, now); });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_setpwent(int /*stayopen*/) {
    return with_errno_protected(nullptr, [](int*) {
        enum_lock()->next_user = 0;
        enum_unlock();
        cache_revalidate();
        return NSS_STATUS_SUCCESS;
    });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_endpwent(void) {
    return with_errno_protected(nullptr, [](int*) {
        enum_lock()->next_user = 0;
        enum_unlock();
        return NSS_STATUS_SUCCESS;
    });
}

LOCKBOX_NSS_EXPORT nss_status _nss_lockbox_getpwent_r(passwd* pw, char* buf, size_t buflen, int* errnop) {
    return with_errno_protected(errnop, [&](int* err) {
        if (!pw || !buf)
            return NSS_STATUS_NOTFOUND;
        EnumCursors* c = enum_lock();
        nss_status s = NSS_STATUS_NOTFOUND;
        CacheView v;
        if (cache_acquire(&v)) {
            int64_t now = realtime_now_usec();
            // A cursor from before a replacement just continues by index: bounded, and
            // enumeration across a concurrent rewrite is best effort in every module.
            for (; c->next_user < user_count(&v); c->next_user++) {
                const auto* u = user_at(&v, c->next_user, now);
                if (!u)
                    continue;
                s = to_status(fill_passwd(&v, u, pw, buf, buflen), err);
                if (s == NSS_STATUS_TRYAGAIN)
                    break;  // same record again with a bigger buffer
                if (s == NSS_STATUS_SUCCESS) {
                    c->next_user++;
                    break;
                }
            }
            cache_release();
        }
        enum_unlock();
        return s;
    });
}

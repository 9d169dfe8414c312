// What every NSS entry point shares: the export macro and errno hygiene.
#pragma once

#include <errno.h>
#include <nss.h>

#define LOCKBOX_NSS_EXPORT extern "C" __attribute__((visibility("default")))

namespace lockbox::nss {

// As nss-systemd: errno is the caller's and comes back unchanged; an error for
// glibc goes through *errnop only (set after the restore, as errnop is often &errno).
template <typename Body>
nss_status with_errno_protected(int* errnop, Body body) {
    int saved = errno;
    int err = 0;
    nss_status status = body(&err);
    errno = saved;
    if (err != 0 && errnop)
        *errnop = err;
    return status;
}

// Names longer than this are no user of ours; bounds the hash and compare.
constexpr size_t kMaxLookupName = 256;

inline bool name_acceptable(const char* name) {
    if (!name || !*name)
        return false;
    for (size_t i = 0; i < kMaxLookupName; i++)
        if (name[i] == '\0')
            return true;
    return false;
}

}  // namespace lockbox::nss

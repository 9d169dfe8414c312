#include "nss_cache_mapping.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libc_handles.h"
#include "lockbox_build_config.h"

namespace lockbox::nss {
namespace {

struct Mapping {
    void* addr;
    size_t size;
    dev_t dev;
    ino_t ino;
    CacheView view;
};

// Constant-initialised: no constructor runs, no __cxa_guard, nothing from libstdc++.
// A lock private to this process (the design forbids locks shared with others).
pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t g_enum_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
Mapping g_map;
EnumCursors g_cursors;

const char* cache_path() {
    // secure_getenv: inside setuid programs the caller owns the environment.
    const char* p = secure_getenv("LOCKBOX_NSS_CACHE");
    if (p && *p == '/')
        return p;
    return LOCKBOX_RUNTIME_DIR "/lockbox/nss.cache";
}

// A child of a multi-threaded parent inherits the locks in whatever state other
// threads left them; taking them around fork() makes that state "unlocked".
void before_fork() {
    pthread_mutex_lock(&g_enum_lock);
    pthread_rwlock_wrlock(&g_lock);
}
void after_fork_parent() {
    pthread_rwlock_unlock(&g_lock);
    pthread_mutex_unlock(&g_enum_lock);
}
void after_fork_child() {
    g_lock = PTHREAD_RWLOCK_INITIALIZER;
    g_enum_lock = PTHREAD_MUTEX_INITIALIZER;
}
void register_atfork() { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

void unmap(Mapping* m) {
    if (m->addr)
        munmap(m->addr, m->size);
    *m = Mapping{};
}

// Only root may write what every process trusts for user names and uids.
bool open_and_map(const char* path, Mapping* out) {
    // O_NOFOLLOW: a symlink is refused, not followed; O_NONBLOCK: a FIFO planted at
    // the path cannot hang the caller in open().
    UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid())
        return false;
    struct stat st {};
    bool ok = fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
              (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
              st.st_size >= static_cast<off_t>(sizeof(lockbox_nss_cache_header)) &&
              st.st_size <= static_cast<off_t>(LOCKBOX_NSS_CACHE_MAX_SIZE);
    void* addr = MAP_FAILED;
    if (ok)
        addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd.get(), 0);
    fd.reset();  // the mapping keeps the file; the descriptor is not needed past here
    if (addr == MAP_FAILED)
        return false;
    Mapping m{addr, static_cast<size_t>(st.st_size), st.st_dev, st.st_ino, CacheView{}};
    if (!view_open(&m.view, addr, m.size)) {
        munmap(addr, m.size);
        return false;
    }
    *out = m;
    return true;
}

bool path_names(const Mapping& m) {
    struct stat st {};
    return lstat(cache_path(), &st) == 0 && st.st_dev == m.dev && st.st_ino == m.ino;
}

void refresh(bool force) {
    // A signal handler that looks up a user while this thread holds the write lock
    // would deadlock on the read lock: no handler runs here.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_once(&g_atfork_once, register_atfork);
    pthread_rwlock_wrlock(&g_lock);
    if (force || !g_map.addr || view_is_stale(&g_map.view)) {
        Mapping fresh{};
        if (!open_and_map(cache_path(), &fresh)) {
            unmap(&g_map);  // the path no longer names a usable cache: no users
        } else if (g_map.addr && fresh.dev == g_map.dev && fresh.ino == g_map.ino) {
            unmap(&fresh);  // same file (marked stale, not yet renamed over)
        } else {
            Mapping old_map = g_map;
            g_map = fresh;
            unmap(&old_map);
        }
    }
    pthread_rwlock_unlock(&g_lock);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

bool current(CacheView* v) {
    if (!g_map.addr)
        return false;
    // A stale file that the path still names: the writer is between its mark and
    // its rename, or died there. Serve it, checking the path each time until then.
    if (view_is_stale(&g_map.view) && !path_names(g_map))
        return false;
    *v = g_map.view;
    return true;
}

}  // namespace

bool cache_acquire(CacheView* v) {
    pthread_rwlock_rdlock(&g_lock);
    if (current(v))
        return true;
    pthread_rwlock_unlock(&g_lock);
    refresh(false);
    pthread_rwlock_rdlock(&g_lock);
    // Whatever is mapped now was the file at the path during this call, even if a
    // faster writer has marked it stale again since: a lookup that overlaps a
    // replacement may answer from either side of it.
    if (g_map.addr) {
        *v = g_map.view;
        return true;
    }
    pthread_rwlock_unlock(&g_lock);
    return false;
}

void cache_release() { pthread_rwlock_unlock(&g_lock); }

void cache_revalidate() { refresh(true); }

EnumCursors* enum_lock() {
    pthread_once(&g_atfork_once, register_atfork);
    pthread_mutex_lock(&g_enum_lock);
    return &g_cursors;
}

void enum_unlock() { pthread_mutex_unlock(&g_enum_lock); }

}  // namespace lockbox::nss

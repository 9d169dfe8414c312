// The built libnss_lockbox.so.2, loaded with dlopen as glibc loads it, against cache
// files on disk: lookups, enumeration, initgroups, ERANGE, errno, every bad file,
// replacement while mapped, and lookups from threads during repeated replacement.
// LOCKBOX_NSS_MODULE names the module (set by meson).

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nss_cache_format.h"
#include "nss_test_fixtures.h"

// cmocka last: its fail() macro would break C++ standard headers.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {  // cmocka 1.1 has no C++ guards of its own
#include <cmocka.h>
}

using namespace lockbox;
using namespace lockbox::nss_test;

namespace {

using getpwnam_fn = nss_status (*)(const char*, passwd*, char*, size_t, int*);
using getpwuid_fn = nss_status (*)(uid_t, passwd*, char*, size_t, int*);
using getgrnam_fn = nss_status (*)(const char*, group*, char*, size_t, int*);
using getgrgid_fn = nss_status (*)(gid_t, group*, char*, size_t, int*);
using setent_fn = nss_status (*)(int);
using endent_fn = nss_status (*)(void);
using getpwent_fn = nss_status (*)(passwd*, char*, size_t, int*);
using getgrent_fn = nss_status (*)(group*, char*, size_t, int*);
using initgroups_fn = nss_status (*)(const char*, gid_t, long*, long*, gid_t**, long, int*);

struct Module {
    void* handle = nullptr;
    getpwnam_fn getpwnam_r;
    getpwuid_fn getpwuid_r;
    getgrnam_fn getgrnam_r;
    getgrgid_fn getgrgid_r;
    setent_fn setpwent, setgrent;
    endent_fn endpwent;
    getpwent_fn getpwent_r;
    getgrent_fn getgrent_r;
    initgroups_fn initgroups_dyn;
} mod;

std::string g_dir;
std::string g_path;

template <typename T>
T sym(const char* name) {
    void* p = dlsym(mod.handle, name);
    if (!p) {
        std::fprintf(stderr, "missing %s\n", name);
        std::abort();
    }
    return reinterpret_cast<T>(p);
}

int setup_module(void**) {
    const char* so = std::getenv("LOCKBOX_NSS_MODULE");
    if (!so)
        return -1;
    mod.handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!mod.handle) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    mod.getpwnam_r = sym<getpwnam_fn>("_nss_lockbox_getpwnam_r");
    mod.getpwuid_r = sym<getpwuid_fn>("_nss_lockbox_getpwuid_r");
    mod.getgrnam_r = sym<getgrnam_fn>("_nss_lockbox_getgrnam_r");
    mod.getgrgid_r = sym<getgrgid_fn>("_nss_lockbox_getgrgid_r");
    mod.setpwent = sym<setent_fn>("_nss_lockbox_setpwent");
    mod.setgrent = sym<setent_fn>("_nss_lockbox_setgrent");
    mod.endpwent = sym<endent_fn>("_nss_lockbox_endpwent");
    mod.getpwent_r = sym<getpwent_fn>("_nss_lockbox_getpwent_r");
    mod.getgrent_r = sym<getgrent_fn>("_nss_lockbox_getgrent_r");
    mod.initgroups_dyn = sym<initgroups_fn>("_nss_lockbox_initgroups_dyn");
    char tmpl[] = "/tmp/lockbox-nss-module-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    g_dir = tmpl;
    g_path = g_dir + "/nss.cache";
    setenv("LOCKBOX_NSS_CACHE", g_path.c_str(), 1);
    return 0;
}

int teardown_module(void**) {
    unlink(g_path.c_str());
    rmdir(g_dir.c_str());
    return 0;
}

void write_sample() {
    usec_t now = wall_now();
    assert_true(write_nss_cache(g_path, sample_users(now), sample_groups(now)).ok());
}

nss_status pwnam(const char* name, passwd* pw, std::vector<char>& buf, int* err) {
    return mod.getpwnam_r(name, pw, buf.data(), buf.size(), err);
}

bool resolves(const char* name) {
    passwd pw{};
    std::vector<char> buf(1024);
    int err = 0;
    return pwnam(name, &pw, buf, &err) == NSS_STATUS_SUCCESS;
}

// Puts a file at the cache path the way a writer would (old file marked stale,
// rename), but with content and attributes of the test's choosing.
enum class Kind { file, symlink, fifo, directory };
void install(const std::vector<uint8_t>& bytes, mode_t mode = 0644, uid_t owner = 0, Kind kind = Kind::file,
             off_t grow_to = 0) {
    std::string tmp = g_dir + "/.install";
    unlink(tmp.c_str());
    rmdir(tmp.c_str());
    if (kind == Kind::file) {
        int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        if (grow_to)
            assert_int_equal(ftruncate(fd, grow_to), 0);
        assert_int_equal(fchown(fd, owner, static_cast<gid_t>(-1)), 0);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
    } else if (kind == Kind::symlink) {
        std::string target = g_dir + "/target";
        assert_true(write_nss_cache(target, sample_users(wall_now()), {}).ok());
        assert_int_equal(symlink(target.c_str(), tmp.c_str()), 0);
    } else if (kind == Kind::fifo) {
        assert_int_equal(mkfifo(tmp.c_str(), 0644), 0);
    } else {
        assert_int_equal(mkdir(tmp.c_str(), 0755), 0);
    }
    int old = open(g_path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (old >= 0) {
        uint32_t one = 1;
        struct stat st {};
        if (fstat(old, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 64)
            assert_int_equal(pwrite(old, &one, 4, offsetof(lockbox_nss_cache_header, stale)), 4);
        close(old);
    }
    if (kind == Kind::directory) {
        unlink(g_path.c_str());
    }
    assert_int_equal(rename(tmp.c_str(), g_path.c_str()), 0);
}

std::vector<uint8_t> sample_bytes() {
    usec_t now = wall_now();
    auto r = encode_nss_cache(sample_users(now), sample_groups(now), now);
    assert_true(r.ok());
    return *r;
}

void cleanup_path() {
    unlink((g_dir + "/target").c_str());
    struct stat st {};
    if (lstat(g_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        rmdir(g_path.c_str());
}

void test_resolves_user_by_name_and_uid(void**) {
    write_sample();
    passwd pw{};
    std::vector<char> buf(1024);
    int err = 0;
    assert_int_equal(pwnam("eng1", &pw, buf, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(pw.pw_uid, kUid1);
    assert_string_equal(pw.pw_passwd, "*");
    assert_string_equal(pw.pw_dir, "/var/lib/lockbox/home/eng1");
    assert_int_equal(mod.getpwuid_r(kUid2, &pw, buf.data(), buf.size(), &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_name, "eng2");
    assert_int_equal(mod.getpwuid_r(0, &pw, buf.data(), buf.size(), &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(pwnam("root", &pw, buf, &err), NSS_STATUS_NOTFOUND);
}

void test_resolves_groups_and_initgroups(void**) {
    write_sample();
    group gr{};
    std::vector<char> buf(1024);
    int err = 0;
    assert_int_equal(mod.getgrnam_r("lockbox-team", &gr, buf.data(), buf.size(), &err), NSS_STATUS_SUCCESS);
    assert_int_equal(gr.gr_gid, kTeamGid);
    assert_string_equal(gr.gr_mem[1], "eng2");
    assert_int_equal(mod.getgrgid_r(kUid1, &gr, buf.data(), buf.size(), &err), NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_name, "eng1");

    long start = 1, size = 1;
    auto* groups = static_cast<gid_t*>(malloc(sizeof(gid_t)));
    groups[0] = kUid1;
    assert_int_equal(mod.initgroups_dyn("eng1", kUid1, &start, &size, &groups, 0, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(start, 2);
    assert_true(size >= 2);
    assert_int_equal(groups[1], kTeamGid);
    // a limit reached stops the list without overflowing it
    start = 1;
    assert_int_equal(mod.initgroups_dyn("eng1", kUid1, &start, &size, &groups, 1, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(start, 1);
    free(groups);
}

void test_enumeration_lists_live_records_only(void**) {
    write_sample();
    std::set<std::string> names;
    passwd pw{};
    std::vector<char> buf(1024);
    int err = 0;
    mod.setpwent(0);
    while (mod.getpwent_r(&pw, buf.data(), buf.size(), &err) == NSS_STATUS_SUCCESS)
        names.insert(pw.pw_name);
    mod.endpwent();
    assert_true((names == std::set<std::string>{"eng1", "eng2"}));
    std::set<std::string> groups;
    group gr{};
    mod.setgrent(0);
    while (mod.getgrent_r(&gr, buf.data(), buf.size(), &err) == NSS_STATUS_SUCCESS)
        groups.insert(gr.gr_name);
    assert_true((groups == std::set<std::string>{"eng1", "eng2", "lockbox-team"}));
}

void test_expired_record_does_not_resolve_without_daemon(void**) {
    write_sample();  // old1's expiry is already past; nobody rewrites the file
    assert_false(resolves("old1"));
    passwd pw{};
    std::vector<char> buf(1024);
    int err = 0;
    assert_int_equal(mod.getpwuid_r(kUidExpired, &pw, buf.data(), buf.size(), &err), NSS_STATUS_NOTFOUND);
    group gr{};
    assert_int_equal(mod.getgrnam_r("old1", &gr, buf.data(), buf.size(), &err), NSS_STATUS_NOTFOUND);
}

void test_small_buffer_gets_erange_and_retry_succeeds(void**) {
    write_sample();
    passwd pw{};
    std::vector<char> buf(1);
    int err = 0;
    nss_status s;
    int rounds = 0;
    while ((s = pwnam("eng1", &pw, buf, &err)) == NSS_STATUS_TRYAGAIN) {
        assert_int_equal(err, ERANGE);
        buf.resize(buf.size() * 2);
        assert_true(++rounds < 16);
    }
    assert_int_equal(s, NSS_STATUS_SUCCESS);
    assert_true(rounds >= 4);
    assert_string_equal(pw.pw_shell, "/bin/bash");

    group gr{};
    std::vector<char> gbuf(1);
    while ((s = mod.getgrnam_r("lockbox-team", &gr, gbuf.data(), gbuf.size(), &err)) == NSS_STATUS_TRYAGAIN) {
        assert_int_equal(err, ERANGE);
        gbuf.resize(gbuf.size() * 2);
    }
    assert_int_equal(s, NSS_STATUS_SUCCESS);
    assert_string_equal(gr.gr_mem[2], "old1");
}

void test_errno_is_preserved(void**) {
    write_sample();
    passwd pw{};
    std::vector<char> buf(1024);
    int err = 0;
    errno = 4242;
    assert_int_equal(pwnam("eng1", &pw, buf, &err), NSS_STATUS_SUCCESS);
    assert_int_equal(errno, 4242);
    assert_int_equal(pwnam("nosuchuser", &pw, buf, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(errno, 4242);
    // glibc passes &errno as errnop: the error must survive the restore
    std::vector<char> tiny(2);
    assert_int_equal(mod.getpwnam_r("eng1", &pw, tiny.data(), tiny.size(), &errno), NSS_STATUS_TRYAGAIN);
    assert_int_equal(errno, ERANGE);
}

void test_missing_cache_means_no_users(void**) {
    unlink(g_path.c_str());
    mod.setpwent(0);
    assert_false(resolves("eng1"));
    write_sample();
    assert_true(resolves("eng1"));
}

void test_bad_files_mean_no_users_and_recovery_follows(void**) {
    auto good = sample_bytes();
    struct Case {
        const char* what;
        std::vector<uint8_t> bytes;
        mode_t mode;
        uid_t owner;
        Kind kind;
        off_t grow_to;
    };
    std::vector<uint8_t> garbage(4096, 0x5a);
    auto wrong_magic = good;
    wrong_magic[0] ^= 0xff;
    auto wrong_version = good;
    wrong_version[offsetof(lockbox_nss_cache_header, version)] += 1;
    auto out_of_range = good;
    uint64_t huge = good.size() * 4;
    std::memcpy(out_of_range.data() + offsetof(lockbox_nss_cache_header, strings), &huge, sizeof huge);
    std::vector<Case> cases = {
        {"truncated", std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(good.size() / 2)), 0644, 0,
         Kind::file, 0},
        {"header only", std::vector<uint8_t>(good.begin(), good.begin() + sizeof(lockbox_nss_cache_header)), 0644, 0,
         Kind::file, 0},
        {"empty", {}, 0644, 0, Kind::file, 0},
        {"garbage", garbage, 0644, 0, Kind::file, 0},
        {"wrong magic", wrong_magic, 0644, 0, Kind::file, 0},
        {"wrong version", wrong_version, 0644, 0, Kind::file, 0},
        {"offsets out of range", out_of_range, 0644, 0, Kind::file, 0},
        {"oversize", good, 0644, 0, Kind::file, static_cast<off_t>(LOCKBOX_NSS_CACHE_MAX_SIZE) + 4096},
        {"world-writable", good, 0646, 0, Kind::file, 0},
        {"group-writable", good, 0664, 0, Kind::file, 0},
        {"wrong owner", good, 0644, 2100000099, Kind::file, 0},
        {"symlink", {}, 0, 0, Kind::symlink, 0},
        {"fifo", {}, 0, 0, Kind::fifo, 0},
        {"directory", {}, 0, 0, Kind::directory, 0},
    };
    if (geteuid() != 0)
        skip();  // files owned by root need root
    for (const auto& c : cases) {
        write_sample();
        assert_true(resolves("eng1"));
        install(c.bytes, c.mode, c.owner, c.kind, c.grow_to);
        if (resolves("eng1") || resolves("eng2")) {
            std::fprintf(stderr, "case '%s' resolved a user\n", c.what);
            fail();
        }
        cleanup_path();
    }
    write_sample();
    assert_true(resolves("eng1"));
}

void test_replacement_while_mapped_is_seen_without_reopen_hint(void**) {
    usec_t now = wall_now();
    write_sample();
    assert_true(resolves("eng1"));
    assert_true(write_nss_cache(g_path, {make_user("eng9", 2100000009, now + 3600 * USEC_PER_SEC)}, {}).ok());
    assert_false(resolves("eng1"));
    assert_true(resolves("eng9"));
}

void test_stale_mark_without_rename_keeps_serving(void**) {
    write_sample();
    assert_true(resolves("eng1"));
    // a writer that died between its mark and its rename
    int fd = open(g_path.c_str(), O_RDWR | O_CLOEXEC);
    uint32_t one = 1;
    assert_int_equal(pwrite(fd, &one, 4, offsetof(lockbox_nss_cache_header, stale)), 4);
    close(fd);
    assert_true(resolves("eng1"));
    assert_true(resolves("eng2"));
}

void test_unmarked_replacement_is_seen_at_setpwent(void**) {
    usec_t now = wall_now();
    write_sample();
    assert_true(resolves("eng1"));
    std::string other = g_dir + "/other";
    assert_true(write_nss_cache(other, {make_user("eng8", 2100000008, now + 3600 * USEC_PER_SEC)}, {}).ok());
    assert_int_equal(rename(other.c_str(), g_path.c_str()), 0);  // no stale mark
    mod.setpwent(0);
    mod.endpwent();
    assert_false(resolves("eng1"));
    assert_true(resolves("eng8"));
}

void test_concurrent_lookups_during_repeated_replacement(void**) {
    usec_t now = wall_now();
    usec_t later = now + 3600 * USEC_PER_SEC;
    auto version = [&](const char* tag) {
        auto a = make_user("eng1", kUid1, later);
        a.gecos = tag;
        auto b = make_user(std::string("only") + tag, kUid2, later);
        return std::vector<NssUserEntry>{a, b};
    };
    assert_true(write_nss_cache(g_path, version("a"), {}).ok());
    std::atomic<bool> stop{false};
    std::atomic<long> lookups{0}, failures{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; t++) {
        readers.emplace_back([&, t] {
            std::vector<char> buf(512);
            passwd pw{};
            int err = 0;
            while (!stop.load()) {
                // eng1 is in every version: it must resolve on every single lookup
                nss_status s = t % 2 ? mod.getpwnam_r("eng1", &pw, buf.data(), buf.size(), &err)
                                     : mod.getpwuid_r(kUid1, &pw, buf.data(), buf.size(), &err);
                bool ok = s == NSS_STATUS_SUCCESS && pw.pw_uid == kUid1 && std::strcmp(pw.pw_name, "eng1") == 0 &&
                          (std::strcmp(pw.pw_gecos, "a") == 0 || std::strcmp(pw.pw_gecos, "b") == 0);
                if (!ok && failures++ == 0)
                    std::fprintf(stderr, "first failure: status %d err %d\n", static_cast<int>(s), err);
                lookups++;
            }
        });
    }
    for (int i = 0; i < 300; i++) {
        assert_true(write_nss_cache(g_path, version(i % 2 ? "a" : "b"), {}).ok());
        // let the readers run against every version: bounded, no clock involved
        long seen = lookups.load();
        for (long spins = 0; lookups.load() < seen + 8 && spins < 100000000; spins++)
            std::this_thread::yield();
    }
    stop = true;
    for (auto& r : readers)
        r.join();
    std::fprintf(stderr, "%ld lookups across 300 replacements\n", lookups.load());
    assert_int_equal(failures.load(), 0);
    assert_true(lookups.load() > 0);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolves_user_by_name_and_uid),
        cmocka_unit_test(test_resolves_groups_and_initgroups),
        cmocka_unit_test(test_enumeration_lists_live_records_only),
        cmocka_unit_test(test_expired_record_does_not_resolve_without_daemon),
        cmocka_unit_test(test_small_buffer_gets_erange_and_retry_succeeds),
        cmocka_unit_test(test_errno_is_preserved),
        cmocka_unit_test(test_missing_cache_means_no_users),
        cmocka_unit_test(test_bad_files_mean_no_users_and_recovery_follows),
        cmocka_unit_test(test_replacement_while_mapped_is_seen_without_reopen_hint),
        cmocka_unit_test(test_stale_mark_without_rename_keeps_serving),
        cmocka_unit_test(test_unmarked_replacement_is_seen_at_setpwent),
        cmocka_unit_test(test_concurrent_lookups_during_repeated_replacement),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}

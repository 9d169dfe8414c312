// liblockbox/nss_cache_writer.cc: what it refuses, and what the file looks like on
// disk (mode, owner, no temp files left, the old file marked stale in place).

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "nss_cache_reader.h"
#include "nss_test_fixtures.h"

// cmocka last: its fail() macro would break C++ standard headers.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {  // cmocka 1.1 has no C++ guards of its own
#include <cmocka.h>
}
#include "../errc_assert.h"

using namespace lockbox;
using namespace lockbox::nss_test;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/lockbox-nss-writer-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() {
        if (DIR* d = opendir(path.c_str())) {
            while (dirent* e = readdir(d))
                if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
                    unlinkat(dirfd(d), e->d_name, 0);
            closedir(d);
        }
        rmdir(path.c_str());
    }
    int entries() const {
        int n = 0;
        DIR* d = opendir(path.c_str());
        while (dirent* e = readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
                n++;
        closedir(d);
        return n;
    }
};

void expect_refused(std::vector<NssUserEntry> users, std::vector<NssGroupEntry> groups) {
    auto r = encode_nss_cache(users, groups, wall_now());
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::InvalidArgument);
}

void test_refuses_invalid_user_names(void**) {
    usec_t t = wall_now() + USEC_PER_SEC;
    for (const char* bad : {"", "Root", "eng:1", "eng\n1", "-eng", "a-very-long-name-that-exceeds-32-chars"})
        expect_refused({make_user(bad, kUid1, t)}, {});
}

void test_refuses_uid_or_gid_zero(void**) {
    usec_t t = wall_now() + USEC_PER_SEC;
    expect_refused({make_user("eng1", 0, t)}, {});
    auto u = make_user("eng1", kUid1, t);
    u.gid = 0;
    expect_refused({u}, {});
    expect_refused({}, {make_group("wheel2", 0, {}, t)});
}

void test_refuses_duplicates(void**) {
    usec_t t = wall_now() + USEC_PER_SEC;
    expect_refused({make_user("eng1", kUid1, t), make_user("eng1", kUid2, t)}, {});
    expect_refused({make_user("eng1", kUid1, t), make_user("eng2", kUid1, t)}, {});
    expect_refused({}, {make_group("g", 5000, {}, t), make_group("g", 5001, {}, t)});
    expect_refused({}, {make_group("g", 5000, {}, t), make_group("h", 5000, {}, t)});
    expect_refused({}, {make_group("g", 5000, {"eng1", "eng1"}, t)});
}

void test_refuses_fields_that_break_passwd_lines(void**) {
    usec_t t = wall_now() + USEC_PER_SEC;
    auto u = make_user("eng1", kUid1, t);
    u.gecos = "a:b";
    expect_refused({u}, {});
    u = make_user("eng1", kUid1, t);
    u.home = "relative/home";
    expect_refused({u}, {});
    u = make_user("eng1", kUid1, t);
    u.shell = std::string("/bin/ba\0sh", 10);
    expect_refused({u}, {});
    u = make_user("eng1", kUid1, t);
    u.gecos = std::string(LOCKBOX_NSS_CACHE_MAX_STRING + 1, 'x');
    expect_refused({u}, {});
    expect_refused({}, {make_group("g", 5000, {"Bad Member"}, t)});
}

void test_encoded_text_always_passes_the_field_check(void**) {
    assert_string_equal(encode_nss_field("INC:4711").c_str(), "INC%3A4711");
    assert_string_equal(encode_nss_field("INC-4711_a.b/c#1").c_str(), "INC-4711_a.b/c#1");
    assert_string_equal(encode_nss_field("50%,x\\y").c_str(), "50%25%2Cx%5Cy");
    assert_string_equal(encode_nss_field(std::string("a\nb\0c\x7f\xc3\xa9", 8)).c_str(), "a%0Ab%00c%7F%C3%A9");
    std::string every_byte;
    for (int b = 0; b < 256; b++)
        every_byte += static_cast<char>(b);
    auto u = make_user("eng1", kUid1, wall_now() + USEC_PER_SEC);
    u.gecos = encode_nss_field(every_byte);
    assert_true(validate_nss_user(u).ok());
    assert_true(encode_nss_cache({u}, {}, wall_now()).ok());
    for (char ch : u.gecos)
        assert_true(ch >= 0x20 && ch <= 0x7e && ch != ':' && ch != ',');
}

void test_each_entry_is_judged_alone(void**) {
    usec_t t = wall_now() + USEC_PER_SEC;
    auto u = make_user("eng1", kUid1, t);
    assert_true(validate_nss_user(u).ok());
    u.gecos = "ticket INC:4711";
    auto st = validate_nss_user(u);
    assert_false(st.ok());
    assert_errc(st.error().code, lockbox::Errc::InvalidArgument);
    assert_true(validate_nss_group(make_group("g", 5000, {"eng1"}, t)).ok());
    assert_false(validate_nss_group(make_group("g", 5000, {"Bad Member"}, t)).ok());
    assert_false(validate_nss_group(make_group("g", 0, {}, t)).ok());
}

void test_writes_root_owned_0644_file_without_leftovers(void**) {
    TempDir dir;
    std::string path = dir.path + "/nss.cache";
    usec_t now = wall_now();
    assert_true(write_nss_cache(path, sample_users(now), sample_groups(now)).ok());
    assert_true(write_nss_cache(path, sample_users(now), sample_groups(now)).ok());
    struct stat st {};
    assert_int_equal(lstat(path.c_str(), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_uid, geteuid());
    assert_int_equal(dir.entries(), 1);  // no temp file left behind
}

void test_replacement_marks_the_old_file_stale_in_place(void**) {
    TempDir dir;
    std::string path = dir.path + "/nss.cache";
    usec_t now = wall_now();
    assert_true(write_nss_cache(path, sample_users(now), {}).ok());
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st {};
    assert_int_equal(fstat(fd, &st), 0);
    void* old = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(old != MAP_FAILED);
    nss::CacheView v;
    assert_true(nss::view_open(&v, old, static_cast<uint64_t>(st.st_size)));
    assert_false(nss::view_is_stale(&v));

    assert_true(write_nss_cache(path, {make_user("eng9", 2100000009, now + USEC_PER_SEC * 60)}, {}).ok());
    assert_true(nss::view_is_stale(&v));                       // seen through the mapping we already had
    assert_non_null(nss::find_user_by_name(&v, "eng1", now));  // old data intact

    // the new file is not stale and carries the new contents
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st2 {};
    assert_int_equal(fstat(fd, &st2), 0);
    assert_true(st2.st_ino != st.st_ino);
    void* fresh = mmap(nullptr, static_cast<size_t>(st2.st_size), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    nss::CacheView v2;
    assert_true(nss::view_open(&v2, fresh, static_cast<uint64_t>(st2.st_size)));
    assert_false(nss::view_is_stale(&v2));
    assert_non_null(nss::find_user_by_name(&v2, "eng9", now));
    assert_null(nss::find_user_by_name(&v2, "eng1", now));
    munmap(old, static_cast<size_t>(st.st_size));
    munmap(fresh, static_cast<size_t>(st2.st_size));
}

void test_does_not_scribble_on_a_foreign_file(void**) {
    TempDir dir;
    std::string path = dir.path + "/nss.cache";
    const std::string foreign(300, 'A');
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_int_equal(write(fd, foreign.data(), foreign.size()), static_cast<ssize_t>(foreign.size()));
    // keep a second link so we can read what the writer did to the old inode
    std::string keep = dir.path + "/keep";
    assert_int_equal(link(path.c_str(), keep.c_str()), 0);
    close(fd);
    assert_true(write_nss_cache(path, sample_users(wall_now()), {}).ok());
    char back[300];
    fd = open(keep.c_str(), O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(fd, back, sizeof back), 300);
    close(fd);
    assert_memory_equal(back, foreign.data(), 300);
}

void test_missing_directory_is_an_error_value(void**) {
    auto st = write_nss_cache("/nonexistent-lockbox-dir/nss.cache", sample_users(wall_now()), {});
    assert_false(st.ok());
    assert_errc(st.error().code, lockbox::Errc::NotFound);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_invalid_user_names),
        cmocka_unit_test(test_refuses_uid_or_gid_zero),
        cmocka_unit_test(test_refuses_duplicates),
        cmocka_unit_test(test_refuses_fields_that_break_passwd_lines),
        cmocka_unit_test(test_encoded_text_always_passes_the_field_check),
        cmocka_unit_test(test_each_entry_is_judged_alone),
        cmocka_unit_test(test_writes_root_owned_0644_file_without_leftovers),
        cmocka_unit_test(test_replacement_marks_the_old_file_stale_in_place),
        cmocka_unit_test(test_does_not_scribble_on_a_foreign_file),
        cmocka_unit_test(test_missing_directory_is_an_error_value),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

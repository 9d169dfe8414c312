// The records lockboxd publishes and their round trip through liblockbox's
// writer, read back through the shared format header, including readers that
// keep opening the file while it is replaced.

#include <cstring>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "config.h"
#include "nss_cache.h"
#include "nss_cache_format.h"
#include "nss_cache_publisher.h"
#include "temp_dir.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}

using namespace lockboxd;

namespace {

lockbox::Config test_config(const TempDir& t) {
    lockbox::Config c = lockbox::default_config();
    c.runtime_dir = t / "run";
    c.home_base = "/var/lib/lockbox/home";
    c.shell = "/bin/bash";
    c.record = true;
    c.record_shell = "/usr/bin/tlog-rec-session";
    return c;
}

struct ReadUser {
    uint32_t uid, gid;
    std::string gecos, home, shell;
    int64_t expires;
};

bool read_file(const std::string& path, std::string& out) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st {};
    fstat(fd, &st);
    out.resize(static_cast<size_t>(st.st_size));
    ssize_t n = read(fd, out.data(), out.size());
    close(fd);
    return n == st.st_size;
}

// Validates the header and returns users by name; false for a torn/invalid file.
bool parse_cache(const std::string& bytes, std::map<std::string, ReadUser>& users) {
    if (bytes.size() < sizeof(lockbox_nss_cache_header))
        return false;
    lockbox_nss_cache_header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    if (std::memcmp(h.magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE) != 0 ||
        h.version != LOCKBOX_NSS_CACHE_VERSION || h.file_size != bytes.size())
        return false;
    const char* strings = bytes.data() + h.strings.offset;
    for (uint64_t i = 0; i < h.users.count; i++) {
        lockbox_nss_cache_user u;
        std::memcpy(&u, bytes.data() + h.users.offset + i * sizeof u, sizeof u);
        users[strings + u.name] = {u.uid, u.gid, strings + u.gecos, strings + u.home, strings + u.shell, u.expires};
    }
    return true;
}

const lockbox::NssGroupEntry* group_named(const NssRecords& r, const std::string& name) {
    for (const auto& g : r.groups)
        if (g.name == name)
            return &g;
    return nullptr;
}

// lockbox-<level> lists exactly the engineers with an active grant at that
// level (one with grants at two levels is in both), at gid UIDMax - 1 - rank;
// a level nobody holds, or one the host does not define, is no group.
void test_each_level_is_a_group_of_exactly_its_grantees(void**) {
    TempDir t;
    auto c = test_config(t);
    c.access_levels = {"user", "dbadmin", "admin"};
    auto r = build_nss_records({{"eng", 2100000001, "INC-1", 100, "dbadmin"},
                                {"eng", 2100000001, "INC-2", 200, "admin"},
                                {"bob", 2100000002, "INC-3", 50, "dbadmin"},
                                {"carl", 2100000003, "INC-4", 70, "root"},
                                {"lockbox-admin", 2100000004, "INC-5", 70, "admin"}},
                               c);
    assert_null(group_named(r, "lockbox-user"));
    assert_null(group_named(r, "lockbox-root"));
    const auto* db = group_named(r, "lockbox-dbadmin");
    const auto* admin = group_named(r, "lockbox-admin");
    assert_non_null(db);
    assert_non_null(admin);
    assert_true((db->members == std::vector<std::string>{"bob", "eng"}));
    assert_true((admin->members == std::vector<std::string>{"eng"}));
    assert_int_equal(db->gid, c.uid_max - 2);
    assert_int_equal(admin->gid, c.uid_max - 3);
    assert_int_equal(db->expires, 100);
    assert_int_equal(admin->expires, 200);
    // No account may carry a level group's name, or the file would hold it twice.
    for (const auto& u : r.users)
        assert_string_not_equal(u.name.c_str(), "lockbox-admin");
    assert_true(highest_engineer_uid(c) < admin->gid);
    TempDir t2;
    auto c2 = test_config(t2);
    c2.access_levels = c.access_levels;
    auto report = publish_nss_cache({{"eng", 2100000001, "INC-1", 4102444800000000, "admin"}}, c2);
    assert_true(report.written.ok());
}

void test_one_record_per_engineer_with_latest_exp(void**) {
    TempDir t;
    auto c = test_config(t);
    auto r = build_nss_records(
        {{"eng", 2100000001, "INC-1", 100}, {"eng", 2100000001, "INC-2", 200}, {"bob", 2100000002, "INC-3", 50}}, c);
    assert_int_equal(r.users.size(), 2);
    assert_int_equal(r.groups.size(), 3);
    const lockbox::NssGroupEntry* grantees = nullptr;
    for (const auto& g : r.groups)
        if (g.name == GRANTEES_GROUP)
            grantees = &g;
    assert_non_null(grantees);
    assert_int_equal(grantees->gid, c.uid_max);
    assert_int_equal(grantees->members.size(), 2);
    assert_int_equal(grantees->expires, 200);
    for (const auto& u : r.users)
        if (u.name == "eng") {
            assert_int_equal(u.expires, 200);
            assert_string_equal(u.gecos.c_str(), "Lockbox engineer (ticket INC-2)");
            assert_int_equal(u.gid, u.uid);
        }
}

void test_engineer_named_like_the_grantees_group_gets_no_account(void**) {
    TempDir t;
    auto c = test_config(t);
    auto r = build_nss_records({{GRANTEES_GROUP, 2100000001, "INC-1", 100}, {"bob", 2100000002, "INC-3", 50}}, c);
    assert_int_equal(r.users.size(), 1);
    assert_string_equal(r.users[0].name.c_str(), "bob");
    assert_int_equal(r.groups.size(), 2);
    assert_true(lockbox::encode_nss_cache(r.users, r.groups, 1).ok());
}

void test_no_grantees_group_without_engineers(void**) {
    TempDir t;
    auto c = test_config(t);
    auto r = build_nss_records({}, c);
    assert_int_equal(r.groups.size(), 0);
}

void test_shell_is_recorder_only_when_recording(void**) {
    TempDir t;
    auto c = test_config(t);
    assert_string_equal(engineer_shell(c).c_str(), "/usr/bin/tlog-rec-session");
    c.record = false;
    assert_string_equal(engineer_shell(c).c_str(), "/bin/bash");
    assert_string_equal(engineer_home(c, "eng").c_str(), "/var/lib/lockbox/home/eng");
}

void test_published_cache_reads_back(void**) {
    TempDir t;
    auto c = test_config(t);
    auto st = publish_nss_cache({{"eng", 2100000001, "INC-1", 1'900'000'000'000'000}}, c).written;
    assert_true(st.ok());
    std::string bytes;
    assert_true(read_file(c.nss_cache_path(), bytes));
    std::map<std::string, ReadUser> users;
    assert_true(parse_cache(bytes, users));
    assert_int_equal(users.size(), 1);
    const auto& u = users["eng"];
    assert_int_equal(u.uid, 2100000001);
    assert_int_equal(u.gid, 2100000001);
    assert_string_equal(u.home.c_str(), "/var/lib/lockbox/home/eng");
    assert_string_equal(u.gecos.c_str(), "Lockbox engineer (ticket INC-1)");
    assert_int_equal(u.expires, 1'900'000'000'000'000);
    struct stat s {};
    stat(c.nss_cache_path().c_str(), &s);
    assert_int_equal(s.st_mode & 0777, 0644);
}

void test_readers_never_see_a_torn_cache_during_replacement(void**) {
    TempDir t;
    auto c = test_config(t);
    assert_true(publish_nss_cache({{"eng0", 2100000001, "INC-0", 1'900'000'000'000'000}}, c).written.ok());
    pid_t reader = fork();
    if (reader == 0) {
        for (int i = 0; i < 3000; i++) {
            std::string bytes;
            std::map<std::string, ReadUser> users;
            if (!read_file(c.nss_cache_path(), bytes) || !parse_cache(bytes, users) || users.empty())
                _exit(1);
        }
        _exit(0);
    }
    for (int i = 0; i < 300; i++) {
        std::vector<NssEngineer> es;
        for (int j = 0; j <= i % 20; j++)
            es.push_back(
                {"eng" + std::to_string(j), 2100000001u + static_cast<uint32_t>(j), "INC", 1'900'000'000'000'000});
        assert_true(publish_nss_cache(es, c).written.ok());
    }
    int status = 0;
    waitpid(reader, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

std::map<std::string, ReadUser> published(const lockbox::Config& c) {
    std::string bytes;
    std::map<std::string, ReadUser> users;
    assert_true(read_file(c.nss_cache_path(), bytes));
    assert_true(parse_cache(bytes, users));
    return users;
}

constexpr int64_t LATER = 1'900'000'000'000'000;

void test_ticket_with_colon_is_published_encoded(void**) {
    TempDir t;
    auto c = test_config(t);
    auto report =
        publish_nss_cache({{"eng", 2100000001, "INC:4711", LATER}, {"bob", 2100000002, "A,B%C\\D", LATER}}, c);
    assert_true(report.written.ok());
    assert_true(report.dropped.empty());
    auto users = published(c);
    assert_int_equal(users.size(), 2);
    assert_string_equal(users["eng"].gecos.c_str(), "Lockbox engineer (ticket INC%3A4711)");
    assert_string_equal(users["bob"].gecos.c_str(), "Lockbox engineer (ticket A%2CB%25C%5CD)");
}

void test_a_record_the_writer_refuses_is_left_out_and_the_rest_published(void**) {
    TempDir t;
    auto c = test_config(t);
    // Not a login name (claims never carry one; a damaged map could).
    auto report = publish_nss_cache({{"Bad", 2100000001, "INC-1", LATER}, {"eng", 2100000002, "INC-2", LATER}}, c);
    assert_true(report.written.ok());
    assert_int_equal(report.dropped.size(), 1);
    assert_string_equal(report.dropped[0].first.c_str(), "Bad");
    auto users = published(c);
    assert_int_equal(users.size(), 1);
    assert_int_equal(users.count("eng"), 1);
}

void test_a_cache_that_cannot_be_rebuilt_stops_resolving_everyone(void**) {
    TempDir t;
    auto c = test_config(t);
    assert_true(publish_nss_cache({{"gone", 2100000009, "INC-9", LATER}}, c).written.ok());
    assert_int_equal(published(c).count("gone"), 1);
    // Two names on one uid (a damaged map): each record is valid alone, the
    // file is not. "gone" was revoked meanwhile and must not stay.
    auto report = publish_nss_cache({{"ann", 2100000001, "INC-1", LATER}, {"bob", 2100000001, "INC-2", LATER}}, c);
    assert_false(report.written.ok());
    assert_true(report.withdrawn);
    assert_true(report.withdraw_error.empty());
    assert_int_equal(published(c).size(), 0);
}

void test_withdrawal_removes_the_file_when_nothing_can_be_written(void**) {
    TempDir t;
    auto c = test_config(t);
    assert_true(publish_nss_cache({{"gone", 2100000009, "INC-9", LATER}}, c).written.ok());
    assert_true(lockbox::withdraw_nss_cache(c.nss_cache_path()).ok());
    struct stat st {};
    assert_int_equal(stat(c.nss_cache_path().c_str(), &st), -1);
    assert_true(lockbox::withdraw_nss_cache(c.nss_cache_path()).ok());  // nothing left: still success
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_record_per_engineer_with_latest_exp),
        cmocka_unit_test(test_engineer_named_like_the_grantees_group_gets_no_account),
        cmocka_unit_test(test_each_level_is_a_group_of_exactly_its_grantees),
        cmocka_unit_test(test_no_grantees_group_without_engineers),
        cmocka_unit_test(test_shell_is_recorder_only_when_recording),
        cmocka_unit_test(test_published_cache_reads_back),
        cmocka_unit_test(test_readers_never_see_a_torn_cache_during_replacement),
        cmocka_unit_test(test_ticket_with_colon_is_published_encoded),
        cmocka_unit_test(test_a_record_the_writer_refuses_is_left_out_and_the_rest_published),
        cmocka_unit_test(test_a_cache_that_cannot_be_rebuilt_stops_resolving_everyone),
        cmocka_unit_test(test_withdrawal_removes_the_file_when_nothing_can_be_written),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// EnforcerStore: enforcer.db round trip, writes that touch only the changed
// rows, the one-time import of an older release's JSON files, a writer killed
// mid-transaction, and what the store refuses (newer schema, a symlink, a file
// that is not SQLite or has a torn page).

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <poll.h>
#include <sqlite3.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforcer_store.h"
#include "temp_dir.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
#include "../errc_assert.h"

using namespace lockboxd;
using lockbox::USEC_PER_SEC;

namespace {

constexpr usec_t T0 = 1'800'000'000 * USEC_PER_SEC;

PersistedGrant grant(const std::string& jti, const std::string& sub, GrantState state, const std::string& token = {}) {
    PersistedGrant g;
    g.jti = jti;
    g.sub = sub;
    g.state = state;
    g.token = token.empty() ? "v4.public.fake-" + jti : token;
    g.installed_at = T0;
    g.ended_at = state == GrantState::Revoked ? T0 + 5 : 0;
    g.exp = T0 + 3600 * USEC_PER_SEC;
    return g;
}

Session session(const std::string& id, const std::string& user) {
    Session s;
    s.id = id;
    s.user = user;
    s.uid = 2100000007;
    s.pid = 4321;
    s.tty = "pts/4";
    s.rhost = "10.0.0.9";
    s.logind_session = "c12";
    s.grant_id = "g1";
    s.audit_session = 77;
    s.opened_at = T0 + 1;
    return s;
}

const char* SESSION_ID = "0123456789abcdef0123456789abcdef";

std::unique_ptr<EnforcerStore> open_ok(const TempDir& dir) {
    auto s = EnforcerStore::open(dir.path());
    if (!s)
        fail_msg("open: %s", s.error().message.c_str());
    return std::move(*s);
}

EnforcerState load_ok(EnforcerStore& store) {
    auto st = store.load();
    if (!st)
        fail_msg("load: %s", st.error().message.c_str());
    return std::move(*st);
}

std::map<std::string, PersistedGrant> by_jti(const EnforcerState& s) {
    std::map<std::string, PersistedGrant> out;
    for (const auto& g : s.grants.grants)
        out[g.jti] = g;
    return out;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_all(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

off_t size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

void expect_error_mentions(const lockbox::Error& e, const std::string& what) {
    if (e.message.find(what) == std::string::npos)
        fail_msg("error \"%s\" does not mention \"%s\"", e.message.c_str(), what.c_str());
}

void raw_exec(const std::string& db_path, const char* sql) {
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

void test_round_trip_keeps_every_table(void**) {
    TempDir dir;
    {
        auto store = open_ok(dir);
        assert_true(store->save_uids({{"eng", 2100000007}, {"ops", 2100000008}}).ok());
        assert_true(store
                        ->save_grants({grant("g1", "eng", GrantState::Active), grant("g2", "ops", GrantState::Revoked)},
                                      {}, {"g2", "never-seen"})
                        .ok());
        assert_true(store->save_sessions({session(SESSION_ID, "eng")}, {}).ok());
    }
    auto store = open_ok(dir);
    auto s = load_ok(*store);
    auto grants = by_jti(s);
    assert_int_equal(grants.size(), 2);
    const auto& g1 = grants.at("g1");
    assert_string_equal(g1.token.c_str(), "v4.public.fake-g1");
    assert_string_equal(g1.sub.c_str(), "eng");
    assert_int_equal(static_cast<int>(g1.state), static_cast<int>(GrantState::Active));
    assert_int_equal(g1.installed_at, T0);
    assert_int_equal(g1.exp, T0 + 3600 * USEC_PER_SEC);
    const auto& g2 = grants.at("g2");
    assert_int_equal(static_cast<int>(g2.state), static_cast<int>(GrantState::Revoked));
    assert_int_equal(g2.ended_at, T0 + 5);
    assert_int_equal(s.grants.revoked.size(), 2);
    assert_int_equal(s.uids.size(), 2);
    std::map<std::string, uint32_t> uids(s.uids.begin(), s.uids.end());
    assert_int_equal(uids.at("eng"), 2100000007);
    assert_int_equal(uids.at("ops"), 2100000008);
    assert_int_equal(s.sessions.size(), 1);
    const Session& x = s.sessions[0];
    assert_string_equal(x.id.c_str(), SESSION_ID);
    assert_string_equal(x.user.c_str(), "eng");
    assert_int_equal(x.uid, 2100000007);
    assert_int_equal(x.pid, 4321);
    assert_string_equal(x.tty.c_str(), "pts/4");
    assert_string_equal(x.rhost.c_str(), "10.0.0.9");
    assert_string_equal(x.logind_session.c_str(), "c12");
    assert_string_equal(x.grant_id.c_str(), "g1");
    assert_int_equal(x.audit_session, 77);
    assert_int_equal(x.opened_at, T0 + 1);

    // Changes and removals land; the rest stays.
    auto g1_done = grant("g1", "eng", GrantState::Completed);
    assert_true(store->save_grants({g1_done}, {"g2"}, {}).ok());
    assert_true(store->save_sessions({}, {SESSION_ID}).ok());
    store.reset();
    auto again = load_ok(*open_ok(dir));
    auto after = by_jti(again);
    assert_int_equal(after.size(), 1);
    assert_int_equal(static_cast<int>(after.at("g1").state), static_cast<int>(GrantState::Completed));
    assert_int_equal(again.grants.revoked.size(), 2);
    assert_int_equal(again.sessions.size(), 0);
}

void test_files_are_private(void**) {
    TempDir dir;
    mode_t old = umask(0);
    auto store = open_ok(dir);
    assert_true(store->save_uids({{"eng", 2100000007}}).ok());
    umask(old);
    struct stat st {};
    assert_int_equal(stat((dir / "enforcer.db").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat((dir / "enforcer.db-wal").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_string_equal(store->path().c_str(), (dir / "enforcer.db").c_str());
}

// The WAL holds exactly what a commit wrote: one grant changed at 2 000 must
// append a handful of pages, not the 2 MB a rewrite of every grant appends,
// and must leave the database file itself as it was.
void test_one_change_writes_its_rows_not_the_others(void**) {
    TempDir dir;
    const std::string pad(1000, 'x');
    {
        auto store = open_ok(dir);
        std::vector<PersistedGrant> many;
        for (int i = 0; i < 2000; i++)
            many.push_back(grant("g" + std::to_string(i), "eng" + std::to_string(i), GrantState::Active, pad));
        assert_true(store->save_grants(many, {}, {}).ok());
    }  // the last close checkpoints the WAL into the database and removes it
    const std::string db = dir / "enforcer.db", wal = dir / "enforcer.db-wal";
    const std::string before = read_all(db);
    assert_true(before.size() > 2000 * 1000);

    auto store = open_ok(dir);
    off_t wal_start = size_of(wal) < 0 ? 0 : size_of(wal);
    assert_true(store->save_grants({grant("g1234", "eng1234", GrantState::Revoked, pad)}, {}, {"g1234"}).ok());
    off_t grew = size_of(wal) - wal_start;
    if (grew <= 0 || grew > 16 * (4096 + 24) + 32)
        fail_msg("one grant change appended %lld bytes to the WAL", static_cast<long long>(grew));
    assert_true(read_all(db) == before);

    store.reset();
    auto s = by_jti(load_ok(*open_ok(dir)));
    assert_int_equal(s.size(), 2000);
    assert_int_equal(static_cast<int>(s.at("g1234").state), static_cast<int>(GrantState::Revoked));
    assert_int_equal(static_cast<int>(s.at("g1233").state), static_cast<int>(GrantState::Active));
}

// A writer that dies by SIGKILL in the middle of its saves: every save is all
// or nothing, and every save it reported done is there. Rounds with different
// kill moments, since a kill may also land between two saves.
void kill_a_writer_and_check(int saves_before_kill, useconds_t extra_delay) {
    TempDir dir;
    open_ok(dir).reset();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        auto store = EnforcerStore::open(dir.path());
        if (!store)
            _exit(2);
        for (uint32_t gen = 1; gen < 100000; gen++) {
            std::vector<PersistedGrant> rows;
            for (int i = 0; i < 100; i++)
                rows.push_back(grant("g" + std::to_string(i), "eng", GrantState::Active,
                                     "gen-" + std::to_string(gen) + "-" + std::string(2000, 'p')));
            if (!(*store)->save_grants(rows, {}, {}).ok())
                _exit(3);
            if (write(fds[1], &gen, sizeof gen) != sizeof gen)
                _exit(4);
        }
        _exit(0);
    }
    close(fds[1]);
    uint32_t last = 0;
    pollfd p{fds[0], POLLIN, 0};
    while (last < static_cast<uint32_t>(saves_before_kill)) {
        if (poll(&p, 1, 20000) <= 0)
            break;
        uint32_t gen = 0;
        if (read(fds[0], &gen, sizeof gen) != sizeof gen)
            break;
        last = gen;
    }
    usleep(extra_delay);
    kill(child, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    // Saves reported while the parent slept count too.
    uint32_t gen = 0;
    while (read(fds[0], &gen, sizeof gen) == sizeof gen)
        last = gen;
    close(fds[0]);
    if (last < static_cast<uint32_t>(saves_before_kill))
        fail_msg("the writer reported %u saves before the deadline", last);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    auto s = load_ok(*open_ok(dir));
    assert_int_equal(s.grants.grants.size(), 100);
    const std::string& first = s.grants.grants[0].token;
    std::string tag = first.substr(0, first.find('-', 4) + 1);  // "gen-N-"
    for (const auto& g : s.grants.grants)
        if (g.token.rfind(tag, 0) != 0)
            fail_msg("torn save: %s next to %s", g.token.substr(0, 12).c_str(), tag.c_str());
    uint32_t seen = static_cast<uint32_t>(std::stoul(tag.substr(4)));
    if (seen < last)
        fail_msg("save %u was reported done but the store holds %u", last, seen);
}

void test_killed_writer_leaves_whole_transactions(void**) {
    for (int round = 0; round < 4; round++)
        kill_a_writer_and_check(3 + round, static_cast<useconds_t>(round * 1700));
}

// An uncommitted transaction whose pages already spilled into the WAL, its
// process killed: the store reads the state before it.
void test_uncommitted_transaction_is_not_seen(void**) {
    TempDir dir;
    {
        auto store = open_ok(dir);
        assert_true(store->save_grants({grant("g1", "eng", GrantState::Installed)}, {}, {}).ok());
        assert_true(store->save_uids({{"eng", 2100000007}}).ok());
    }
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sqlite3* db = nullptr;
        if (sqlite3_open((dir / "enforcer.db").c_str(), &db) != SQLITE_OK)
            _exit(2);
        sqlite3_exec(db,
                     "PRAGMA cache_size=5; BEGIN IMMEDIATE; UPDATE grants SET state='revoked'; "
                     "DELETE FROM uids;",
                     nullptr, nullptr, nullptr);
        for (int i = 0; i < 2000; i++) {
            std::string sql = "INSERT INTO grants VALUES ('x" + std::to_string(i) + "', '" + std::string(1500, 'q') +
                              "', 'active', 0, 0, 'eng', 0)";
            if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
                _exit(3);
        }
        raise(SIGKILL);
        _exit(4);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // The dead transaction did reach the disk (as uncommitted WAL frames).
    assert_true(size_of(dir / "enforcer.db-wal") > 1000 * 1500);

    auto s = load_ok(*open_ok(dir));
    assert_int_equal(s.grants.grants.size(), 1);
    assert_int_equal(static_cast<int>(s.grants.grants[0].state), static_cast<int>(GrantState::Installed));
    assert_int_equal(s.uids.size(), 1);
}

void test_newer_schema_is_refused(void**) {
    TempDir dir;
    open_ok(dir).reset();
    raw_exec(dir / "enforcer.db", "PRAGMA user_version = 2");
    auto r = EnforcerStore::open(dir.path());
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::StoreTooNew);
    expect_error_mentions(r.error(), dir / "enforcer.db");
    expect_error_mentions(r.error(), "schema version 2");
}

void test_symlink_is_refused(void**) {
    TempDir dir;
    const std::string target = dir / "elsewhere.db";
    write_all(target, "");
    assert_int_equal(symlink(target.c_str(), (dir / "enforcer.db").c_str()), 0);
    auto r = EnforcerStore::open(dir.path());
    assert_false(r.ok());
    expect_error_mentions(r.error(), "symlink");
    assert_int_equal(size_of(target), 0);
    // Dangling: nothing is created at the far end either.
    unlink((dir / "enforcer.db").c_str());
    const std::string absent = dir / "absent.db";
    assert_int_equal(symlink(absent.c_str(), (dir / "enforcer.db").c_str()), 0);
    assert_false(EnforcerStore::open(dir.path()).ok());
    assert_false(exists(absent));
}

void test_a_file_that_is_not_sqlite_is_refused_by_name(void**) {
    TempDir dir;
    std::string junk;
    for (int i = 0; i < 200; i++)
        junk += "this is not a database, it is a shopping list. ";
    write_all(dir / "enforcer.db", junk);
    auto r = EnforcerStore::open(dir.path());
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::StoreDamaged);
    expect_error_mentions(r.error(), dir / "enforcer.db");
    assert_true(read_all(dir / "enforcer.db") == junk);  // left for inspection
}

void test_a_torn_page_is_refused_by_name(void**) {
    TempDir dir;
    {
        auto store = open_ok(dir);
        std::vector<PersistedGrant> many;
        for (int i = 0; i < 300; i++)
            many.push_back(grant("g" + std::to_string(i), "eng", GrantState::Active, std::string(800, 't')));
        assert_true(store->save_grants(many, {}, {}).ok());
    }
    const std::string db = dir / "enforcer.db";
    assert_true(size_of(db) > 20 * 4096);
    {
        int fd = open(db.c_str(), O_WRONLY);
        assert_true(fd >= 0);
        std::string garbage(4096 * 4, '\xA5');
        assert_int_equal(pwrite(fd, garbage.data(), garbage.size(), 4096 * 6), static_cast<ssize_t>(garbage.size()));
        close(fd);
    }
    auto r = EnforcerStore::open(dir.path());
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::StoreDamaged);
    expect_error_mentions(r.error(), db);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_table),
        cmocka_unit_test(test_files_are_private),
        cmocka_unit_test(test_one_change_writes_its_rows_not_the_others),
        cmocka_unit_test(test_killed_writer_leaves_whole_transactions),
        cmocka_unit_test(test_uncommitted_transaction_is_not_seen),
        cmocka_unit_test(test_newer_schema_is_refused),
        cmocka_unit_test(test_symlink_is_refused),
        cmocka_unit_test(test_a_file_that_is_not_sqlite_is_refused_by_name),
        cmocka_unit_test(test_a_torn_page_is_refused_by_name),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

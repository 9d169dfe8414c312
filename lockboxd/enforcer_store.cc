#include "enforcer_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libc_handles.h"

namespace lockboxd {

using lockbox::Statement;
using lockbox::Transaction;

namespace {

// Version 1. A later version appends a step run on user_version 1; a shipped
// step is never edited.
constexpr const char* SCHEMA_V1 = R"sql(
CREATE TABLE grants (
  jti TEXT PRIMARY KEY NOT NULL,
  token TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('installed', 'active', 'revoked', 'completed')),
  installed_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  sub TEXT NOT NULL,
  exp INTEGER NOT NULL
) STRICT;
CREATE TABLE revoked (
  jti TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE uids (
  name TEXT PRIMARY KEY NOT NULL,
  uid INTEGER NOT NULL UNIQUE
) STRICT;
CREATE TABLE sessions (
  id TEXT PRIMARY KEY NOT NULL,
  user TEXT NOT NULL,
  uid INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  tty TEXT NOT NULL,
  rhost TEXT NOT NULL,
  logind_session TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  audit_session INTEGER NOT NULL,
  opened_at INTEGER NOT NULL
) STRICT;
)sql";

lockbox::Error errno_error(const std::string& what, int err) {
    return lockbox::make_error(lockbox::Errc::IoError, what + ": " + std::strerror(err));
}

lockbox::Result<int64_t> single_int(sqlite3* db, const char* sql) {
    auto q = Statement::prepare(db, sql);
    if (!q)
        return q.error();
    auto row = q->step();
    if (!row)
        return row.error();
    return *row ? q->int64(0) : 0;
}

// SQLite would create the file 0644 less the umask and gives its -wal and -shm
// the mode of the database, so the database is made 0600 first. O_NOFOLLOW: a
// symlink planted in the state directory must not redirect lockboxd's writes.
lockbox::Status create_private_file(const std::string& path) {
    lockbox::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600));
    if (!fd.valid()) {
        if (errno == ELOOP)
            return lockbox::make_error(lockbox::Errc::IoError, path + " is a symlink; refusing to follow it");
        return errno_error("cannot open " + path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return errno_error("cannot stat " + path, errno);
    if (!S_ISREG(st.st_mode))
        return lockbox::make_error(lockbox::Errc::IoError, path + " is not a regular file");
    if ((st.st_mode & 07777) != 0600 && ::fchmod(fd.get(), 0600) < 0)
        return errno_error("cannot chmod " + path, errno);
    return {};
}

void bind_grant(Statement& s, const PersistedGrant& g) {
    s.reset()
        .bind(1, g.jti)
        .bind(2, g.token)
        .bind(3, grant_state_name(g.state))
        .bind(4, static_cast<int64_t>(g.installed_at))
        .bind(5, static_cast<int64_t>(g.ended_at))
        .bind(6, g.sub)
        .bind(7, static_cast<int64_t>(g.exp));
}

void bind_session(Statement& s, const Session& x) {
    s.reset()
        .bind(1, x.id)
        .bind(2, x.user)
        .bind(3, static_cast<int64_t>(x.uid))
        .bind(4, static_cast<int64_t>(x.pid))
        .bind(5, x.tty)
        .bind(6, x.rhost)
        .bind(7, x.logind_session)
        .bind(8, x.grant_id)
        .bind(9, static_cast<int64_t>(x.audit_session))
        .bind(10, static_cast<int64_t>(x.opened_at));
}

}  // namespace

lockbox::Error EnforcerStore::fail(const lockbox::Error& e) const {
    return lockbox::make_error(e.code, path_ + ": " + e.message);
}

lockbox::Result<std::unique_ptr<EnforcerStore>> EnforcerStore::open(const std::string& dir) {
    const std::string path = dir + "/" + FILE_NAME;
    if (auto st = create_private_file(path); !st)
        return st.error();
    sqlite3* raw = nullptr;
    int r = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
    lockbox::SqlitePtr db(raw);
    if (r != SQLITE_OK)
        return lockbox::sqlite_error(db.get(), "cannot open " + path);
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), 1000);
    std::unique_ptr<EnforcerStore> store(new EnforcerStore(std::move(db), path));
    sqlite3* h = store->db_.get();
    auto damaged = [&](const std::string& why) {
        return lockbox::make_error(lockbox::Errc::StoreDamaged, path + " is damaged (" + why + ")");
    };

    // The first read of the header: a file that is not SQLite fails here.
    auto version = single_int(h, "PRAGMA user_version");
    if (!version)
        return damaged(version.error().message);
    if (*version > SCHEMA_VERSION)
        return lockbox::make_error(lockbox::Errc::StoreTooNew,
                                   path + " has schema version " + std::to_string(*version) + ", newer than the " +
                                       std::to_string(SCHEMA_VERSION) +
                                       " this lockboxd understands (written by a later release?); refusing to start "
                                       "rather than misread it");
    // WAL: a commit appends the changed pages and fsyncs once; FULL makes that
    // fsync part of every commit, so a uid is on disk before it is handed out.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA trusted_schema=OFF",
                               "PRAGMA journal_size_limit=8388608"})
        if (auto st = lockbox::exec_sql(h, pragma); !st)
            return damaged(st.error().message);
    if (*version == 0) {
        if (auto st = store->create_schema(); !st)
            return st.error();
    } else {
        // quick_check reads every page (not the index-to-table agreement): a torn
        // or overwritten page is found now, not by the first kill that needs it.
        auto q = Statement::prepare(h, "PRAGMA quick_check(1)");
        if (!q)
            return damaged(q.error().message);
        auto row = q->step();
        if (!row)
            return damaged(row.error().message);
        if (!*row || q->text(0) != "ok")
            return damaged(*row ? q->text(0) : "integrity check gave no answer");
        if (auto st = store->prepare(); !st)
            return damaged(st.error().message);
    }
    return store;
}

lockbox::Result<std::string> EnforcerStore::quarantine(const std::string& dir, const std::string& stamp) {
    const std::string from = dir + "/" + FILE_NAME;
    struct stat st {};
    if (::lstat(from.c_str(), &st) < 0) {
        if (errno == ENOENT)
            return std::string();
        return errno_error("cannot stat " + from, errno);
    }
    // A second damage within the same second gets the next free suffix.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string to = from + ".damaged-" + stamp + (attempt ? "." + std::to_string(attempt) : "");
        bool taken = false;
        for (const char* suffix : {"", "-wal", "-shm"})
            taken |= ::lstat((to + suffix).c_str(), &st) == 0;
        if (taken)
            continue;
        // The database last: were the -wal moved after it, a crash in between
        // would leave a WAL beside no database, which SQLite would then apply to
        // the fresh one.
        for (const char* suffix : {"-wal", "-shm", ""}) {
            const std::string f = from + suffix;
            if (::renameat2(AT_FDCWD, f.c_str(), AT_FDCWD, (to + suffix).c_str(), RENAME_NOREPLACE) < 0 &&
                errno != ENOENT)
                return errno_error("cannot move " + f + " aside", errno);
        }
        lockbox::UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (d.valid())
            ::fsync(d.get());
        return to;
    }
    return lockbox::make_error(lockbox::Errc::IoError, "cannot move " + from + " aside: every name " + from +
                                                           ".damaged-" + stamp + ".N is taken");
}

lockbox::Status EnforcerStore::prepare() {
    auto make = [&](std::unique_ptr<Statement>& out, const char* sql) -> lockbox::Status {
        auto s = Statement::prepare(db_.get(), sql);
        if (!s)
            return s.error();
        out = std::make_unique<Statement>(std::move(*s));
        return {};
    };
    for (auto [out, sql] : std::initializer_list<std::pair<std::unique_ptr<Statement>*, const char*>>{
             {&put_grant_,
              "INSERT INTO grants (jti, token, state, installed_at, ended_at, sub, exp) VALUES (?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (jti) DO UPDATE SET token = excluded.token, state = excluded.state, "
              "installed_at = excluded.installed_at, ended_at = excluded.ended_at, sub = excluded.sub, "
              "exp = excluded.exp"},
             {&delete_grant_, "DELETE FROM grants WHERE jti = ?"},
             {&put_revoked_, "INSERT OR IGNORE INTO revoked (jti) VALUES (?)"},
             {&put_uid_,
              "INSERT INTO uids (name, uid) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET uid = excluded.uid"},
             {&put_session_,
              "INSERT OR REPLACE INTO sessions (id, user, uid, pid, tty, rhost, logind_session, grant_id, "
              "audit_session, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
             {&delete_session_, "DELETE FROM sessions WHERE id = ?"},
         })
        if (auto st = make(*out, sql); !st)
            return st;
    return {};
}

lockbox::Status EnforcerStore::create_schema() {
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return fail(tx.error());
    if (auto st = lockbox::exec_sql(db_.get(), SCHEMA_V1); !st)
        return fail(st.error());
    if (auto st = prepare(); !st)
        return fail(st.error());
    if (auto st = lockbox::exec_sql(db_.get(), "PRAGMA user_version = 1"); !st)
        return fail(st.error());
    if (auto st = tx->commit(); !st)
        return fail(st.error());
    return {};
}

lockbox::Result<EnforcerState> EnforcerStore::load() {
    EnforcerState out;
    auto each_row = [&](const char* sql, auto&& take) -> lockbox::Status {
        auto q = Statement::prepare(db_.get(), sql);
        if (!q)
            return fail(q.error());
        for (;;) {
            auto row = q->step();
            if (!row)
                return fail(row.error());
            if (!*row)
                return {};
            if (auto st = take(*q); !st)
                return fail(st.error());
        }
    };
    if (auto st = each_row("SELECT jti, token, state, installed_at, ended_at, sub, exp FROM grants",
                           [&](const Statement& q) -> lockbox::Status {
                               PersistedGrant g;
                               g.jti = q.text(0);
                               g.token = q.text(1);
                               auto state = parse_grant_state(q.text(2));
                               if (!state)
                                   return lockbox::make_error(lockbox::Errc::StoreDamaged,
                                                              "grant " + g.jti + " has unknown state " + q.text(2));
                               g.state = *state;
                               g.installed_at = q.int64(3);
                               g.ended_at = q.int64(4);
                               g.sub = q.text(5);
                               g.exp = q.int64(6);
                               out.grants.grants.push_back(std::move(g));
                               return {};
                           });
        !st)
        return st.error();
    if (auto st = each_row("SELECT jti FROM revoked",
                           [&](const Statement& q) -> lockbox::Status {
                               out.grants.revoked.push_back(q.text(0));
                               return {};
                           });
        !st)
        return st.error();
    if (auto st = each_row("SELECT name, uid FROM uids",
                           [&](const Statement& q) -> lockbox::Status {
                               int64_t uid = q.int64(1);
                               if (uid < 0 || uid > int64_t(UINT32_MAX))
                                   return lockbox::make_error(lockbox::Errc::StoreDamaged,
                                                              "uid of " + q.text(0) + " out of range");
                               out.uids.emplace_back(q.text(0), static_cast<uint32_t>(uid));
                               return {};
                           });
        !st)
        return st.error();
    if (auto st = each_row("SELECT id, user, uid, pid, tty, rhost, logind_session, grant_id, audit_session, "
                           "opened_at FROM sessions",
                           [&](const Statement& q) -> lockbox::Status {
                               Session s;
                               s.id = q.text(0);
                               s.user = q.text(1);
                               s.uid = static_cast<uint32_t>(q.int64(2));
                               s.pid = static_cast<int32_t>(q.int64(3));
                               s.tty = q.text(4);
                               s.rhost = q.text(5);
                               s.logind_session = q.text(6);
                               s.grant_id = q.text(7);
                               s.audit_session = static_cast<uint32_t>(q.int64(8));
                               s.opened_at = q.int64(9);
                               out.sessions.push_back(std::move(s));
                               return {};
                           });
        !st)
        return st.error();
    return out;
}

lockbox::Status EnforcerStore::write_grant_rows(const std::vector<PersistedGrant>& write,
                                                const std::vector<std::string>& remove,
                                                const std::vector<std::string>& revoked) {
    for (const auto& jti : remove)
        if (auto st = delete_grant_->reset().bind(1, jti).run(); !st)
            return st;
    for (const auto& g : write) {
        bind_grant(*put_grant_, g);
        if (auto st = put_grant_->run(); !st)
            return st;
    }
    for (const auto& jti : revoked)
        if (auto st = put_revoked_->reset().bind(1, jti).run(); !st)
            return st;
    return {};
}

lockbox::Status EnforcerStore::write_uid_rows(const std::vector<std::pair<std::string, uint32_t>>& added) {
    for (const auto& [name, uid] : added)
        if (auto st = put_uid_->reset().bind(1, name).bind(2, static_cast<int64_t>(uid)).run(); !st)
            return st;
    return {};
}

lockbox::Status EnforcerStore::write_session_rows(const std::vector<Session>& write,
                                                  const std::vector<std::string>& remove) {
    for (const auto& id : remove)
        if (auto st = delete_session_->reset().bind(1, id).run(); !st)
            return st;
    for (const auto& s : write) {
        bind_session(*put_session_, s);
        if (auto st = put_session_->run(); !st)
            return st;
    }
    return {};
}

namespace {

// One transaction around write(); rolled back (by ~Transaction) when it fails.
template <typename Write>
lockbox::Status in_transaction(sqlite3* db, Write&& write) {
    auto tx = Transaction::begin(db);
    if (!tx)
        return tx.error();
    if (auto st = write(); !st)
        return st;
    return tx->commit();
}

}  // namespace

lockbox::Status EnforcerStore::save_grants(const std::vector<PersistedGrant>& write,
                                           const std::vector<std::string>& remove,
                                           const std::vector<std::string>& revoked) {
    if (write.empty() && remove.empty() && revoked.empty())
        return {};
    if (auto st = in_transaction(db_.get(), [&] { return write_grant_rows(write, remove, revoked); }); !st)
        return fail(st.error());
    return {};
}

lockbox::Status EnforcerStore::save_uids(const std::vector<std::pair<std::string, uint32_t>>& added) {
    if (added.empty())
        return {};
    if (auto st = in_transaction(db_.get(), [&] { return write_uid_rows(added); }); !st)
        return fail(st.error());
    return {};
}

lockbox::Status EnforcerStore::save_sessions(const std::vector<Session>& write,
                                             const std::vector<std::string>& remove) {
    if (write.empty() && remove.empty())
        return {};
    if (auto st = in_transaction(db_.get(), [&] { return write_session_rows(write, remove); }); !st)
        return fail(st.error());
    return {};
}

}  // namespace lockboxd

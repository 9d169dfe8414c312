// lockboxd's persisted state: <enforcer_dir>/enforcer.db, one SQLite database
// (WAL, synchronous=FULL) with a row per grant, revoked id, uid and session.
// Each save is one small transaction over the rows that changed, so a grant
// change costs the same at one grant and at a hundred thousand, and a crash
// leaves the state of the last committed save.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grant_registry.h"
#include "result.h"
#include "session_registry.h"
#include "sqlite_handle.h"

namespace lockboxd {

// Everything load() gives back; tokens are not verified here (the enforcer does).
struct EnforcerState {
    PersistedGrants grants;
    std::vector<std::pair<std::string, uint32_t>> uids;  // engineer name -> uid
    std::vector<Session> sessions;
};

class EnforcerStore {
public:
    static constexpr int SCHEMA_VERSION = 1;
    static constexpr const char* FILE_NAME = "enforcer.db";

    // Opens dir/enforcer.db (mode 0600, never through a symlink), creating it
    // when it is new. Refuses a damaged database and a newer schema with an
    // error naming the file.
    static lockbox::Result<std::unique_ptr<EnforcerStore>> open(const std::string& dir);

    lockbox::Result<EnforcerState> load();

    // Moves dir/enforcer.db and its -wal and -shm aside to
    // enforcer.db.damaged-<stamp> (…-wal, …-shm: SQLite opens them together),
    // never replacing an existing file, so a damaged store is kept for
    // forensics and the next open() starts empty. Returns the new path of the
    // database ("" when there was none).
    static lockbox::Result<std::string> quarantine(const std::string& dir, const std::string& stamp);

    // One transaction each; nothing is written when they fail.
    lockbox::Status save_grants(const std::vector<PersistedGrant>& write, const std::vector<std::string>& remove,
                                const std::vector<std::string>& revoked);
    lockbox::Status save_uids(const std::vector<std::pair<std::string, uint32_t>>& added);
    lockbox::Status save_sessions(const std::vector<Session>& write, const std::vector<std::string>& remove);

    const std::string& path() const { return path_; }

private:
    EnforcerStore(lockbox::SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
    lockbox::Status prepare();
    lockbox::Status write_grant_rows(const std::vector<PersistedGrant>& write, const std::vector<std::string>& remove,
                                     const std::vector<std::string>& revoked);
    lockbox::Status write_uid_rows(const std::vector<std::pair<std::string, uint32_t>>& added);
    lockbox::Status write_session_rows(const std::vector<Session>& write, const std::vector<std::string>& remove);
    lockbox::Status create_schema();
    lockbox::Error fail(const lockbox::Error& e) const;

    lockbox::SqlitePtr db_;
    std::string path_;
    // Prepared once: a save binds and steps, it never parses SQL.
    std::unique_ptr<lockbox::Statement> put_grant_, delete_grant_, put_revoked_, put_uid_, put_session_,
        delete_session_;
};

}  // namespace lockboxd

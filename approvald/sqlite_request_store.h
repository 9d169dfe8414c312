// The single-host store: one SQLite file (WAL, foreign keys, synchronous=FULL)
// under Config::approval_dir(), schema versioned with forward-only migrations.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "request_store.h"
#include "sqlite_handle.h"

namespace lockbox::approval {

// The schema version this build writes; a file from a newer build is refused.
int sqlite_store_schema_version();

class SqliteRequestStore final : public RequestStore {
public:
    // Opens (creating if needed) and migrates the database at path.
    static Result<std::unique_ptr<SqliteRequestStore>> open(const std::string& path);

    Status insert(const Request& r, const std::vector<AuditEntry>& audit) override;
    Status update(const Request& r, RequestState expected_state, const std::vector<AuditEntry>& audit) override;
    Status append_audit(const std::vector<AuditEntry>& audit) override;
    Result<Request> get(const std::string& id) override;
    Result<std::vector<Request>> list(std::optional<RequestState> stored_state) override;
    Result<std::vector<Request>> list_slice(const ListSlice& slice) override;
    Result<std::vector<Request>> due_for_expiry(usec_t now) override;
    Result<std::optional<usec_t>> next_pending_deadline() override;
    Result<std::vector<Request>> grants_for_host(const std::string& tenant,
                                                 const std::vector<std::string>& targets) override;
    Result<size_t> prune_ended(usec_t cutoff, const std::function<AuditEntry(size_t count)>& audit) override;
    Result<std::vector<OutboxItem>> unsent_audit(size_t limit) override;
    Status remove_sent_audit(const std::vector<int64_t>& seqs) override;

private:
    explicit SqliteRequestStore(SqlitePtr db) : db_(std::move(db)) {}
    Status migrate();
    Status write_audit(const std::vector<AuditEntry>& audit);
    Status write_approvals(const Request& r);
    Result<std::vector<Request>> load_where(const std::string& where_sql, const std::function<void(Statement&)>& bind);
    Status load_children(Request& r);

    SqlitePtr db_;
};

}  // namespace lockbox::approval

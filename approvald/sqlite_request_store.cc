#include "sqlite_request_store.h"

#include <array>
#include <functional>

namespace lockbox::approval {

namespace {

// Forward-only. Each step runs in its own transaction with its version bump;
// never edit a shipped step, append a new one.
constexpr std::array<const char*, 5> MIGRATIONS = {
    // 1: requests with their hosts, keys and stage approvals; the audit outbox.
    R"sql(
CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  tenant TEXT NOT NULL,
  ticket TEXT NOT NULL,
  engineer TEXT NOT NULL,
  reason TEXT NOT NULL,
  requested_duration INTEGER NOT NULL,
  duration INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  pending_until INTEGER NOT NULL,
  closed_by TEXT,
  closed_at INTEGER,
  close_reason TEXT,
  nbf INTEGER,
  exp INTEGER,
  token TEXT,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE request_hosts (
  request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  host TEXT NOT NULL,
  PRIMARY KEY (request_id, position)
) STRICT;
CREATE TABLE request_ssh_keys (
  request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (request_id, position)
) STRICT;
CREATE TABLE approvals (
  request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('manager', 'approver')),
  user TEXT NOT NULL,
  at INTEGER NOT NULL,
  comment TEXT NOT NULL,
  PRIMARY KEY (request_id, role)
) STRICT;
CREATE TABLE audit_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  entry TEXT NOT NULL,
  sent_at INTEGER
) STRICT;
)sql",
    // 2: indexes for the expiry sweep, the enforcer resync and outbox forwarding.
    R"sql(
CREATE INDEX requests_by_state ON requests(state, pending_until);
CREATE INDEX request_hosts_by_host ON request_hosts(host);
CREATE INDEX audit_outbox_unsent ON audit_outbox(seq) WHERE sent_at IS NULL;
)sql",
    // 3: delivered records are deleted from now on; drop those older builds kept.
    R"sql(
DELETE FROM audit_outbox WHERE sent_at IS NOT NULL;
)sql",
    // 4: access levels as filed and as approved; '' for requests filed before
    // levels existed (their grants carry no access claim).
    R"sql(
ALTER TABLE requests ADD COLUMN requested_access TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN access TEXT NOT NULL DEFAULT '';
)sql",
    // 5: the list order (ListRequests, ListRequestsPage): a page starts at its
    // cursor on this index instead of sorting the table.
    R"sql(
CREATE INDEX requests_by_created ON requests(created_at DESC, id);
)sql",
};

constexpr const char* REQUEST_COLUMNS =
    "id, state, tenant, ticket, engineer, reason, requested_duration, duration, created_by, "
    "created_at, pending_until, closed_by, closed_at, close_reason, nbf, exp, token, updated_at, requested_access, "
    "access";

Result<Request> row_to_request(const Statement& s) {
    Request r;
    r.id = s.text(0);
    auto state = parse_state(s.text(1));
    if (!state)
        return make_error(Errc::StoreError, "request " + r.id + " has unknown state " + s.text(1));
    r.state = *state;
    r.tenant = s.text(2);
    r.ticket = s.text(3);
    r.engineer = s.text(4);
    r.reason = s.text(5);
    r.requested_duration = s.int64(6);
    r.duration = s.int64(7);
    r.created_by = s.text(8);
    r.created_at = s.int64(9);
    r.pending_until = s.int64(10);
    r.closed_by = s.text(11);
    r.closed_at = s.int64(12);
    r.close_reason = s.text(13);
    r.nbf = s.int64(14);
    r.exp = s.int64(15);
    r.token = s.text(16);
    r.updated_at = s.int64(17);
    r.requested_access = s.text(18);
    r.access = s.text(19);
    return r;
}

// Empty strings and zero times are stored as NULL so "not set" reads as such in SQL.
void bind_opt(Statement& s, int i, const std::string& v) {
    if (v.empty())
        s.bind_null(i);
    else
        s.bind(i, v);
}
void bind_opt(Statement& s, int i, usec_t v) {
    if (v == 0)
        s.bind_null(i);
    else
        s.bind(i, static_cast<int64_t>(v));
}

}  // namespace

int sqlite_store_schema_version() { return static_cast<int>(MIGRATIONS.size()); }

Result<std::unique_ptr<SqliteRequestStore>> SqliteRequestStore::open(const std::string& path) {
    sqlite3* raw = nullptr;
    int r =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, nullptr);
    SqlitePtr db(raw);
    if (r != SQLITE_OK)
        return sqlite_error(db.get(), "cannot open " + path);
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), 5000);
    // WAL keeps readers off the writer's back; FULL makes every committed state
    // change (and its audit record) survive power loss, not just a crash.
    // A checkpoint every 256 pages (1 MiB) instead of SQLite's 1000, and
    // journal_size_limit truncating the WAL back to 1 MiB after it: the -wal
    // file stays near 1 MiB whatever the write rate.
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", "PRAGMA trusted_schema=OFF",
          "PRAGMA journal_size_limit=1048576", "PRAGMA wal_autocheckpoint=256"})
        if (auto s = exec_sql(db.get(), pragma); !s)
            return make_error(Errc::StoreError, path + ": " + s.error().message);
    std::unique_ptr<SqliteRequestStore> store(new SqliteRequestStore(std::move(db)));
    if (auto s = store->migrate(); !s)
        return make_error(s.error().code, path + ": " + s.error().message);
    return store;
}

Status SqliteRequestStore::migrate() {
    if (auto s = exec_sql(db_.get(), "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !s)
        return s;
    auto q = Statement::prepare(db_.get(), "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!q)
        return q.error();
    auto row = q->step();
    if (!row)
        return row.error();
    const int64_t current = q->int64(0);
    if (current > static_cast<int64_t>(MIGRATIONS.size()))
        return make_error(Errc::StoreError, "schema version " + std::to_string(current) +
                                                " is newer than this build understands (" +
                                                std::to_string(MIGRATIONS.size()) + ")");
    for (size_t v = static_cast<size_t>(current); v < MIGRATIONS.size(); ++v) {
        auto tx = Transaction::begin(db_.get());
        if (!tx)
            return tx.error();
        if (auto s = exec_sql(db_.get(), MIGRATIONS[v]); !s)
            return make_error(Errc::StoreError, "migration " + std::to_string(v + 1) + ": " + s.error().message);
        auto bump = Statement::prepare(db_.get(), "INSERT INTO schema_version (version) VALUES (?)");
        if (!bump)
            return bump.error();
        if (auto s = bump->bind(1, static_cast<int64_t>(v + 1)).run(); !s)
            return s;
        if (auto s = tx->commit(); !s)
            return s;
    }
    return {};
}

Status SqliteRequestStore::write_audit(const std::vector<AuditEntry>& audit) {
    for (const auto& e : audit) {
        auto s = Statement::prepare(db_.get(),
                                    "INSERT INTO audit_outbox (created_at, entry) "
                                    "VALUES (CAST(strftime('%s','now') AS INTEGER) * 1000000, ?)");
        if (!s)
            return s.error();
        if (auto st = s->bind(1, audit_entry_to_json(e)).run(); !st)
            return st;
    }
    return {};
}

Status SqliteRequestStore::write_approvals(const Request& r) {
    for (const auto* stage : {&r.manager, &r.approver}) {
        if (!*stage)
            continue;
        auto s = Statement::prepare(db_.get(),
                                    "INSERT OR REPLACE INTO approvals (request_id, role, user, at, comment) "
                                    "VALUES (?, ?, ?, ?, ?)");
        if (!s)
            return s.error();
        const auto& a = **stage;
        if (auto st = s->bind(1, r.id)
                          .bind(2, a.approval.role)
                          .bind(3, a.approval.user)
                          .bind(4, static_cast<int64_t>(a.approval.at))
                          .bind(5, a.comment)
                          .run();
            !st)
            return st;
    }
    return {};
}

Status SqliteRequestStore::insert(const Request& r, const std::vector<AuditEntry>& audit) {
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return tx.error();
    auto s = Statement::prepare(db_.get(), std::string("INSERT INTO requests (") + REQUEST_COLUMNS +
                                               ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!s)
        return s.error();
    s->bind(1, r.id).bind(2, state_name(r.state)).bind(3, r.tenant).bind(4, r.ticket);
    s->bind(5, r.engineer).bind(6, r.reason).bind(7, static_cast<int64_t>(r.requested_duration));
    s->bind(8, static_cast<int64_t>(r.duration)).bind(9, r.created_by);
    s->bind(10, static_cast<int64_t>(r.created_at)).bind(11, static_cast<int64_t>(r.pending_until));
    bind_opt(*s, 12, r.closed_by);
    bind_opt(*s, 13, r.closed_at);
    bind_opt(*s, 14, r.close_reason);
    bind_opt(*s, 15, r.nbf);
    bind_opt(*s, 16, r.exp);
    bind_opt(*s, 17, r.token);
    s->bind(18, static_cast<int64_t>(r.updated_at)).bind(19, r.requested_access).bind(20, r.access);
    if (auto st = s->run(); !st)
        return st.error().message.find("UNIQUE") != std::string::npos
                   ? make_error(Errc::Conflict, "request " + r.id + " exists")
                   : st;
    for (const auto& [table, column, values] :
         {std::tuple{"request_hosts", "host", &r.hosts}, std::tuple{"request_ssh_keys", "key", &r.ssh_keys}}) {
        for (size_t i = 0; i < values->size(); ++i) {
            auto c = Statement::prepare(db_.get(), std::string("INSERT INTO ") + table + " (request_id, position, " +
                                                       column + ") VALUES (?, ?, ?)");
            if (!c)
                return c.error();
            if (auto st = c->bind(1, r.id).bind(2, static_cast<int64_t>(i)).bind(3, (*values)[i]).run(); !st)
                return st;
        }
    }
    if (auto st = write_approvals(r); !st)
        return st;
    if (auto st = write_audit(audit); !st)
        return st;
    return tx->commit();
}

Status SqliteRequestStore::update(const Request& r, RequestState expected_state, const std::vector<AuditEntry>& audit) {
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return tx.error();
    auto s = Statement::prepare(db_.get(),
                                "UPDATE requests SET state = ?, duration = ?, closed_by = ?, closed_at = ?, "
                                "close_reason = ?, nbf = ?, exp = ?, token = ?, updated_at = ?, access = ? "
                                "WHERE id = ? AND state = ?");
    if (!s)
        return s.error();
    s->bind(1, state_name(r.state)).bind(2, static_cast<int64_t>(r.duration));
    bind_opt(*s, 3, r.closed_by);
    bind_opt(*s, 4, r.closed_at);
    bind_opt(*s, 5, r.close_reason);
    bind_opt(*s, 6, r.nbf);
    bind_opt(*s, 7, r.exp);
    bind_opt(*s, 8, r.token);
    s->bind(9, static_cast<int64_t>(r.updated_at))
        .bind(10, r.access)
        .bind(11, r.id)
        .bind(12, state_name(expected_state));
    if (auto st = s->run(); !st)
        return st;
    if (sqlite3_changes(db_.get()) != 1)
        return make_error(Errc::Conflict, "request " + r.id + " is no longer " + state_name(expected_state));
    if (auto st = write_approvals(r); !st)
        return st;
    if (auto st = write_audit(audit); !st)
        return st;
    return tx->commit();
}

Status SqliteRequestStore::append_audit(const std::vector<AuditEntry>& audit) {
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return tx.error();
    if (auto st = write_audit(audit); !st)
        return st;
    return tx->commit();
}

Status SqliteRequestStore::load_children(Request& r) {
    for (const auto& [table, column, values] :
         {std::tuple{"request_hosts", "host", &r.hosts}, std::tuple{"request_ssh_keys", "key", &r.ssh_keys}}) {
        auto s = Statement::prepare(
            db_.get(), std::string("SELECT ") + column + " FROM " + table + " WHERE request_id = ? ORDER BY position");
        if (!s)
            return s.error();
        s->bind(1, r.id);
        for (;;) {
            auto row = s->step();
            if (!row)
                return row.error();
            if (!*row)
                break;
            values->push_back(s->text(0));
        }
    }
    auto s = Statement::prepare(db_.get(), "SELECT role, user, at, comment FROM approvals WHERE request_id = ?");
    if (!s)
        return s.error();
    s->bind(1, r.id);
    for (;;) {
        auto row = s->step();
        if (!row)
            return row.error();
        if (!*row)
            break;
        StageApproval a{{s->text(0), s->text(1), s->int64(2)}, s->text(3)};
        (a.approval.role == "manager" ? r.manager : r.approver) = a;
    }
    return {};
}

Result<std::vector<Request>> SqliteRequestStore::load_where(const std::string& where_sql,
                                                            const std::function<void(Statement&)>& bind) {
    auto s = Statement::prepare(db_.get(), std::string("SELECT ") + REQUEST_COLUMNS + " FROM requests " + where_sql);
    if (!s)
        return s.error();
    bind(*s);
    std::vector<Request> out;
    for (;;) {
        auto row = s->step();
        if (!row)
            return row.error();
        if (!*row)
            break;
        auto r = row_to_request(*s);
        if (!r)
            return r.error();
        out.push_back(std::move(*r));
    }
    for (auto& r : out)
        if (auto st = load_children(r); !st)
            return st.error();
    return out;
}

Result<Request> SqliteRequestStore::get(const std::string& id) {
    auto rows = load_where("WHERE id = ?", [&](Statement& s) { s.bind(1, id); });
    if (!rows)
        return rows.error();
    if (rows->empty())
        return make_error(Errc::NotFound, "no request with id " + id);
    return std::move(rows->front());
}

Result<std::vector<Request>> SqliteRequestStore::list(std::optional<RequestState> stored_state) {
    if (!stored_state)
        return load_where("ORDER BY created_at DESC, id", [](Statement&) {});
    return load_where("WHERE state = ? ORDER BY created_at DESC, id",
                      [&](Statement& s) { s.bind(1, state_name(*stored_state)); });
}

Result<std::vector<Request>> SqliteRequestStore::list_slice(const ListSlice& slice) {
    // Numbered parameters: ?1 ?2 the position, ?3 the user, ?4 the limit, ?5.. the states.
    std::string where = "WHERE 1";
    if (slice.after)
        where += " AND created_at <= ?1 AND (created_at < ?1 OR id > ?2)";
    if (slice.involving)
        where += " AND (engineer = ?3 OR created_by = ?3)";
    if (!slice.stored_states.empty()) {
        where += " AND state IN (";
        for (size_t i = 0; i < slice.stored_states.size(); i++)
            where += (i ? ", ?" : "?") + std::to_string(i + 5);
        where += ")";
    }
    return load_where(where + " ORDER BY created_at DESC, id LIMIT ?4", [&](Statement& s) {
        if (slice.after)
            s.bind(1, static_cast<int64_t>(slice.after->usec)).bind(2, slice.after->id);
        if (slice.involving)
            s.bind(3, *slice.involving);
        s.bind(4, static_cast<int64_t>(slice.limit));
        for (size_t i = 0; i < slice.stored_states.size(); i++)
            s.bind(static_cast<int>(i + 5), state_name(slice.stored_states[i]));
    });
}

Result<std::vector<Request>> SqliteRequestStore::due_for_expiry(usec_t now) {
    return load_where("WHERE state IN ('pending-manager', 'pending-approver') AND pending_until <= ?",
                      [&](Statement& s) { s.bind(1, static_cast<int64_t>(now)); });
}

Result<std::optional<usec_t>> SqliteRequestStore::next_pending_deadline() {
    auto s = Statement::prepare(db_.get(),
                                "SELECT MIN(pending_until) FROM requests "
                                "WHERE state IN ('pending-manager', 'pending-approver')");
    if (!s)
        return s.error();
    auto row = s->step();
    if (!row)
        return row.error();
    if (!*row || s->is_null(0))
        return std::optional<usec_t>{};
    return std::optional<usec_t>{s->int64(0)};
}

Result<std::vector<Request>> SqliteRequestStore::grants_for_host(const std::string& tenant,
                                                                 const std::vector<std::string>& targets) {
    // One placeholder per target: at most 1 + MAX_HOST_GROUPS of them.
    std::string in;
    for (size_t i = 0; i < targets.size(); i++)
        in += i ? ", ?" : "?";
    return load_where(
        "WHERE tenant = ? AND state IN ('approved', 'revoked', 'released') AND token IS NOT NULL AND id IN "
        "(SELECT request_id FROM request_hosts WHERE host IN (" +
            in + ")) ORDER BY created_at",
        [&](Statement& s) {
            s.bind(1, tenant);
            for (size_t i = 0; i < targets.size(); i++)
                s.bind(static_cast<int>(i + 2), targets[i]);
        });
}

Result<size_t> SqliteRequestStore::prune_ended(usec_t cutoff, const std::function<AuditEntry(size_t count)>& audit) {
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return tx.error();
    // Ended means every time the request carries is past the cutoff: the close
    // and, for a grant, its exp, so a revoked grant's token (which hosts learn
    // of through grants_for_host) has long expired before the row goes. The
    // hosts, keys and approvals go with it (ON DELETE CASCADE).
    auto s = Statement::prepare(db_.get(),
                                "DELETE FROM requests WHERE "
                                "(state IN ('denied', 'expired', 'cancelled', 'revoked', 'released', 'completed') "
                                "OR (state = 'approved' AND exp IS NOT NULL)) "
                                "AND updated_at < ?1 AND COALESCE(closed_at, 0) < ?1 AND COALESCE(exp, 0) < ?1");
    if (!s)
        return s.error();
    if (auto st = s->bind(1, static_cast<int64_t>(cutoff)).run(); !st)
        return st.error();
    const size_t count = static_cast<size_t>(sqlite3_changes(db_.get()));
    if (auto st = write_audit({audit(count)}); !st)
        return st.error();
    if (auto st = tx->commit(); !st)
        return st.error();
    return count;
}

Result<std::vector<OutboxItem>> SqliteRequestStore::unsent_audit(size_t limit) {
    auto s =
        Statement::prepare(db_.get(), "SELECT seq, entry FROM audit_outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?");
    if (!s)
        return s.error();
    s->bind(1, static_cast<int64_t>(limit));
    std::vector<OutboxItem> out;
    for (;;) {
        auto row = s->step();
        if (!row)
            return row.error();
        if (!*row)
            break;
        auto e = audit_entry_from_json(s->text(1));
        if (!e)
            return make_error(Errc::StoreError,
                              "outbox entry " + std::to_string(s->int64(0)) + ": " + e.error().message);
        out.push_back({s->int64(0), std::move(*e)});
    }
    return out;
}

Status SqliteRequestStore::remove_sent_audit(const std::vector<int64_t>& seqs) {
    if (seqs.empty())
        return {};
    auto tx = Transaction::begin(db_.get());
    if (!tx)
        return tx.error();
    for (int64_t seq : seqs) {
        auto s = Statement::prepare(db_.get(), "DELETE FROM audit_outbox WHERE seq = ?");
        if (!s)
            return s.error();
        if (auto st = s->bind(1, seq).run(); !st)
            return st;
    }
    return tx->commit();
}

}  // namespace lockbox::approval

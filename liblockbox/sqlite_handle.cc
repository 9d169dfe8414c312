#include "sqlite_handle.h"

namespace lockbox {

Error sqlite_error(sqlite3* db, const std::string& what) {
    return make_error(Errc::StoreError, what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status exec_sql(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string message = err ? err : "unknown error";
        sqlite3_free(err);
        return make_error(Errc::StoreError, message);
    }
    return {};
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
        return sqlite_error(db, "prepare");
    return Statement(db, s);
}

Statement& Statement::bind(int index, std::string_view text) {
    int r = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    if (r != SQLITE_OK)
        bind_error_ = r;
    return *this;
}

Statement& Statement::bind(int index, int64_t value) {
    int r = sqlite3_bind_int64(stmt_.get(), index, value);
    if (r != SQLITE_OK)
        bind_error_ = r;
    return *this;
}

Statement& Statement::bind_null(int index) {
    int r = sqlite3_bind_null(stmt_.get(), index);
    if (r != SQLITE_OK)
        bind_error_ = r;
    return *this;
}

Statement& Statement::reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
    bind_error_ = SQLITE_OK;
    return *this;
}

Result<bool> Statement::step() {
    if (bind_error_ != SQLITE_OK)
        return make_error(Errc::StoreError, std::string("bind: ") + sqlite3_errstr(bind_error_));
    int r = sqlite3_step(stmt_.get());
    if (r == SQLITE_ROW)
        return true;
    if (r == SQLITE_DONE)
        return false;
    return sqlite_error(db_, "step");
}

Status Statement::run() {
    for (;;) {
        auto r = step();
        if (!r)
            return r.error();
        if (!*r)
            return {};
    }
}

std::string Statement::text(int column) const {
    const auto* p = sqlite3_column_text(stmt_.get(), column);
    if (!p)
        return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

Result<Transaction> Transaction::begin(sqlite3* db) {
    if (auto s = exec_sql(db, "BEGIN IMMEDIATE"); !s)
        return s.error();
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_)
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::commit() {
    if (auto s = exec_sql(db_, "COMMIT"); !s)
        return s;
    db_ = nullptr;
    return {};
}

}  // namespace lockbox

// RAII owners for SQLite handles and a thin prepared-statement wrapper: every
// value is bound, never spliced into SQL text. Shared by approvald's request
// store and lockboxd's enforcer store; a library apart from liblockbox so the
// PAM and NSS modules do not bring libsqlite3 into every login.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "result.h"

namespace lockbox {

struct SqliteCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;

struct StmtFinalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

class Statement {
public:
    static Result<Statement> prepare(sqlite3* db, std::string_view sql);

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, int64_t value);
    Statement& bind_null(int index);
    // Back to before the first step with no values bound: a statement prepared
    // once is reset before each use (SQLite refuses to bind a stepped one).
    Statement& reset();
    // SQLITE_ROW → true, SQLITE_DONE → false, anything else → error.
    Result<bool> step();
    Status run();  // step until done

    int64_t int64(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
    std::string text(int column) const;
    bool is_null(int column) const { return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL; }

private:
    explicit Statement(sqlite3* db, sqlite3_stmt* s) : db_(db), stmt_(s) {}
    sqlite3* db_;
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
    int bind_error_ = SQLITE_OK;
};

Error sqlite_error(sqlite3* db, const std::string& what);
Status exec_sql(sqlite3* db, const char* sql);

// BEGIN IMMEDIATE … COMMIT; rolls back unless commit() succeeded.
class Transaction {
public:
    static Result<Transaction> begin(sqlite3* db);
    Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Status commit();

private:
    explicit Transaction(sqlite3* db) : db_(db) {}
    sqlite3* db_;
};

}  // namespace lockbox

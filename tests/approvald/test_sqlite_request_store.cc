// The SQLite store: a request and its audit records round-trip, survive a reopen,
// updates are compare-and-set on the state, the outbox hands out what was not
// sent yet and deletes what journald took (so a stream of records leaves the
// file bounded), retention prunes ended requests only, with one audit record,
// and a schema from a newer build is refused.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite_request_store.h"
#include "approvald_test.h"
#include "../errc_assert.h"

using namespace approvald_test;

namespace {

struct Dir {
    std::string path;
    Dir() {
        char tmpl[] = "/tmp/approvald-store-XXXXXX";
        const char* p = mkdtemp(tmpl);
        assert_non_null(p);
        path = p;
    }
    ~Dir() {
        for (const char* suffix : {"", "-wal", "-shm"})
            unlink((db() + suffix).c_str());
        rmdir(path.c_str());
    }
    std::string db() const { return path + "/requests.db"; }
};

int outbox_rows(const Dir& d) {
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open_v2(d.db().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM audit_outbox", -1, &st, nullptr), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

std::unique_ptr<SqliteRequestStore> open_store(const Dir& d) {
    auto s = SqliteRequestStore::open(d.db());
    if (!s)
        fail_msg("open: %s", s.error().message.c_str());
    return std::move(*s);
}

Request sample() {
    auto r = create_request(new_request(), eve(), ID, policy(), T0);
    assert_true(r.ok());
    return *r;
}

AuditEntry created_entry(const Request& r) {
    auto e = audit_for(AuditEvent::RequestCreated, "eve", r, "eve requested access");
    e.fields["REASON"] = r.reason;
    return e;
}

void test_insert_get_round_trip_survives_reopen(void**) {
    Dir d;
    Request r = sample();
    {
        auto store = open_store(d);
        assert_true(store->insert(r, {created_entry(r)}).ok());
    }
    auto store = open_store(d);
    auto got = store->get(ID);
    assert_true(got.ok());
    assert_string_equal(got->engineer.c_str(), "eve");
    assert_true(got->hosts == r.hosts);
    assert_true(got->ssh_keys == r.ssh_keys);
    assert_string_equal(got->reason.c_str(), r.reason.c_str());
    assert_true(got->duration == r.duration);
    assert_true(got->pending_until == r.pending_until);
    assert_int_equal(static_cast<int>(got->state), static_cast<int>(RequestState::PendingManager));
    assert_false(got->manager.has_value());
}

void test_unknown_id_is_not_found(void**) {
    Dir d;
    auto store = open_store(d);
    auto got = store->get(ID);
    assert_false(got.ok());
    assert_errc(got.error().code, lockbox::Errc::NotFound);
}

void test_update_stores_approvals_and_grant(void**) {
    Dir d;
    Request r = sample();
    r.hosts.push_back("@payments");
    auto store = open_store(d);
    assert_true(store->insert(r, {}).ok());
    auto m = approve_request(r, alice(), 0, "looks fine", policy(), T0 + 1);
    assert_true(store->update(*m, r.state, {}).ok());
    auto a = approve_request(*m, bob(), 3600, "", policy(), T0 + 2);
    a->token = "v4.public.test";
    assert_true(store->update(*a, m->state, {}).ok());
    store.reset();
    store = open_store(d);
    auto got = store->get(ID);
    assert_int_equal(static_cast<int>(got->state), static_cast<int>(RequestState::Approved));
    assert_string_equal(got->manager->approval.user.c_str(), "alice");
    assert_string_equal(got->manager->comment.c_str(), "looks fine");
    assert_string_equal(got->approver->approval.user.c_str(), "bob");
    assert_true(got->nbf == T0 + 2);
    assert_true(got->exp == T0 + 2 + HOUR);
    assert_string_equal(got->token.c_str(), "v4.public.test");
    auto grants = store->grants_for_host("contoso", {"db02.contoso.example"});
    assert_int_equal(grants->size(), 1);
    assert_int_equal(store->grants_for_host("contoso", {"db03"})->size(), 0);
    assert_int_equal(store->grants_for_host("fabrikam", {"db01"})->size(), 0);
    // A host's groups are targets too; a group the request did not name is not.
    assert_int_equal(store->grants_for_host("contoso", {"db03", "@payments"})->size(), 1);
    assert_int_equal(store->grants_for_host("contoso", {"db03", "@web"})->size(), 0);
}

void test_update_is_compare_and_set_on_state(void**) {
    Dir d;
    Request r = sample();
    auto store = open_store(d);
    assert_true(store->insert(r, {}).ok());
    auto denied = deny_request(r, alice(), "no", policy(), T0 + 1);
    assert_true(store->update(*denied, RequestState::PendingManager, {created_entry(r)}).ok());
    // A second writer that still believes pending-manager loses, and its audit
    // entry is not stored either.
    auto cancelled = cancel_request(r, eve(), T0 + 2);
    auto before = store->unsent_audit(100)->size();
    auto s = store->update(*cancelled, RequestState::PendingManager, {created_entry(r)});
    assert_false(s.ok());
    assert_errc(s.error().code, lockbox::Errc::Conflict);
    assert_int_equal(store->unsent_audit(100)->size(), before);
    assert_int_equal(static_cast<int>(store->get(ID)->state), static_cast<int>(RequestState::Denied));
}

void test_duplicate_insert_is_a_conflict(void**) {
    Dir d;
    auto store = open_store(d);
    assert_true(store->insert(sample(), {}).ok());
    auto s = store->insert(sample(), {});
    assert_false(s.ok());
    assert_errc(s.error().code, lockbox::Errc::Conflict);
}

void test_outbox_hands_out_unsent_entries_until_removed(void**) {
    Dir d;
    Request r = sample();
    {
        auto store = open_store(d);
        assert_true(store->insert(r, {created_entry(r)}).ok());
        AuditEntry refused;
        refused.event = AuditEvent::CallRefused;
        refused.actor = "mallory";
        refused.message = "refused";
        refused.fields["REASON"] = "needs the manager role";
        assert_true(store->append_audit({refused}).ok());
    }
    auto store = open_store(d);  // survives a restart
    auto items = store->unsent_audit(10);
    assert_int_equal(items->size(), 2);
    const auto& first = (*items)[0].entry;
    assert_int_equal(static_cast<int>(first.event), static_cast<int>(AuditEvent::RequestCreated));
    assert_true(first.has_request);
    assert_string_equal(first.request_id.c_str(), ID.c_str());
    assert_string_equal(first.fields.at("REASON").c_str(), r.reason.c_str());
    const auto& second = (*items)[1].entry;
    assert_false(second.has_request);
    assert_string_equal(second.actor.c_str(), "mallory");
    assert_true(store->remove_sent_audit({(*items)[0].seq}).ok());
    items = store->unsent_audit(10);
    assert_int_equal(items->size(), 1);
    assert_int_equal(static_cast<int>((*items)[0].entry.event), static_cast<int>(AuditEvent::CallRefused));
    assert_int_equal(outbox_rows(d), 1);  // the delivered row is gone, not flagged
}

// The main file's size once the WAL is checkpointed into it: what the store
// keeps for good.
off_t checkpointed_bytes(const Dir& d) {
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open(d.db().c_str(), &db), SQLITE_OK);
    assert_int_equal(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    struct stat st {};
    assert_int_equal(stat(d.db().c_str(), &st), 0);
    return st.st_size;
}

void test_delivered_records_leave_the_file_bounded(void**) {
    Dir d;
    auto store = open_store(d);
    AuditEntry refused;
    refused.event = AuditEvent::CallRefused;
    refused.actor = "mallory";
    refused.message = "ApproveRequest by mallory refused: " + std::string(300, 'x');
    // Warm up to the steady state, then the next 2000 records add nothing.
    auto cycle = [&](int n) {
        for (int i = 0; i < n; ++i) {
            assert_true(store->append_audit({refused}).ok());
            auto items = store->unsent_audit(10);
            assert_int_equal(items->size(), 1);
            assert_true(store->remove_sent_audit({(*items)[0].seq}).ok());
        }
    };
    cycle(200);
    const off_t warm = checkpointed_bytes(d);
    cycle(2000);
    const off_t after = checkpointed_bytes(d);
    // Kept rows would add ~2000 * 400 bytes = 800 KB; deleted ones leave pages
    // that the next records reuse.
    assert_true(after <= warm + (16 << 10));
    assert_int_equal(outbox_rows(d), 0);
}

void test_upgrade_drops_records_older_builds_kept_as_sent(void**) {
    Dir d;
    {
        auto store = open_store(d);
        AuditEntry e;
        e.actor = "mallory";
        assert_true(store->append_audit({e, e}).ok());
    }
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open(d.db().c_str(), &db), SQLITE_OK);
    // What a schema-2 build left: delivered rows flagged with sent_at, no
    // access columns (migration 4) and no list-order index (migration 5).
    assert_int_equal(sqlite3_exec(db,
                                  "DELETE FROM schema_version WHERE version >= 3;"
                                  "DROP INDEX requests_by_created;"
                                  "ALTER TABLE requests DROP COLUMN requested_access;"
                                  "ALTER TABLE requests DROP COLUMN access;"
                                  "UPDATE audit_outbox SET sent_at = 1 WHERE seq = (SELECT MIN(seq) FROM audit_outbox)",
                                  nullptr, nullptr, nullptr),
                     SQLITE_OK);
    sqlite3_close(db);
    auto store = open_store(d);
    assert_int_equal(outbox_rows(d), 1);
    assert_int_equal(store->unsent_audit(10)->size(), 1);
}

// Requests filed by eve and mallory, three to a microsecond (the id orders
// those), every fifth one denied.
std::vector<Request> filed(SqliteRequestStore& store, int n, usec_t base, int first_id) {
    std::vector<Request> out;
    for (int i = 0; i < n; i++) {
        char id[37];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", first_id + i);
        auto r = create_request(new_request(), i % 2 ? mallory() : eve(), id, policy(), base + i / 3);
        assert_true(r.ok());
        if (i % 5 == 0) {
            auto d = deny_request(*r, alice(), "no", policy(), base + i / 3);
            assert_true(d.ok());
            r = std::move(*d);
        }
        assert_true(store.insert(*r, {}).ok());
        out.push_back(*r);
    }
    return out;
}

std::vector<std::string> ids_of(const std::vector<Request>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs)
        out.push_back(r.id);
    return out;
}

// Pages of 4 until a short one, inserting a newer request before each page.
// by_default: RequestStore's list_slice, the one stores without an index (etcd) keep.
std::vector<std::string> page_through(SqliteRequestStore& store, ListSlice slice, int* inserted,
                                      bool by_default = false) {
    std::vector<std::string> seen;
    for (;;) {
        auto page = by_default ? store.RequestStore::list_slice(slice) : store.list_slice(slice);
        assert_true(page.ok());
        for (const auto& r : *page)
            seen.push_back(r.id);
        if (page->size() < slice.limit)
            return seen;
        slice.after = ListPosition{page->back().created_at, page->back().id};
        filed(store, 1, T0 + HOUR + *inserted, 1000 + *inserted);
        (*inserted)++;
    }
}

void test_list_slices_concatenate_to_the_list(void**) {
    Dir d;
    auto store = open_store(d);
    filed(*store, 23, T0, 0);
    const auto listed = store->list(std::nullopt);
    assert_true(listed.ok());
    const auto all = ids_of(*listed);
    assert_int_equal(all.size(), 23);
    int inserted = 0;
    ListSlice slice;
    slice.limit = 4;
    auto seen = page_through(*store, slice, &inserted);
    assert_true(inserted > 0);
    assert_true(seen == all);  // the list as it was: newer ones sit before the first cursor
    const auto again = store->list(std::nullopt);
    assert_true(again.ok());
    assert_true(page_through(*store, slice, &inserted, true) == ids_of(*again));

    // Narrowed to one user and to stored states, in the same order.
    std::vector<std::string> eves_pending;
    const auto everything = store->list(std::nullopt);
    assert_true(everything.ok());
    for (const auto& r : *everything)
        if ((r.engineer == "eve" || r.created_by == "eve") && r.state == RequestState::PendingManager)
            eves_pending.push_back(r.id);
    assert_true(eves_pending.size() >= 8);
    slice.involving = "eve";
    slice.stored_states = {RequestState::PendingManager, RequestState::PendingApprover};
    seen = page_through(*store, slice, &inserted);
    assert_true(seen == eves_pending);
    assert_true(page_through(*store, slice, &inserted, true) == eves_pending);
}

void test_expiry_queries(void**) {
    Dir d;
    auto store = open_store(d);
    assert_false(store->next_pending_deadline()->has_value());
    Request r = sample();
    assert_true(store->insert(r, {}).ok());
    assert_true(**store->next_pending_deadline() == r.pending_until);
    assert_int_equal(store->due_for_expiry(r.pending_until - 1)->size(), 0);
    assert_int_equal(store->due_for_expiry(r.pending_until)->size(), 1);
    auto e = expire_if_due(r, r.pending_until);
    assert_true(store->update(*e, r.state, {}).ok());
    assert_false(store->next_pending_deadline()->has_value());
    assert_int_equal(store->list(RequestState::Expired)->size(), 1);
    assert_int_equal(store->list(std::nullopt)->size(), 1);
}

void test_migrations_record_the_schema_version(void**) {
    Dir d;
    open_store(d).reset();
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open(d.db().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &st, nullptr);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), sqlite_store_schema_version());
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    // A database written by a newer build is refused, not silently misread.
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (999)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto again = SqliteRequestStore::open(d.db());
    assert_false(again.ok());
    assert_non_null(strstr(again.error().message.c_str(), "newer"));
}

void test_reopen_does_not_rerun_migrations(void**) {
    Dir d;
    {
        auto store = open_store(d);
        assert_true(store->insert(sample(), {}).ok());
    }
    { auto store = open_store(d); }
    auto store = open_store(d);
    assert_int_equal(store->list(std::nullopt)->size(), 1);
}

}  // namespace

int count_rows(const Dir& d, const char* sql) {
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open_v2(d.db().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

Request filed(const std::string& id, usec_t at) {
    auto r = create_request(new_request(), eve(), id, policy(), at);
    assert_true(r.ok());
    return *r;
}

// Manager then approver, a one-hour window from `at`.
Request approved_at(const std::string& id, usec_t at) {
    Request r = filed(id, at);
    auto m = approve_request(r, alice(), 0, "", policy(), at);
    assert_true(m.ok());
    auto a = approve_request(*m, bob(), 3600, "", policy(), at);
    assert_true(a.ok());
    a->token = "v4.public.test";
    return *a;
}

void test_retention_prunes_ended_requests_only_with_one_audit_record(void**) {
    Dir d;
    auto store = open_store(d);
    constexpr usec_t DAY = 24 * HOUR;
    const usec_t cutoff = T0 + 400 * DAY;
    auto id = [](int n) { return "00000000-0000-4000-8000-0000000000" + std::to_string(10 + n); };
    const Request old_filed = filed(id(0), T0);
    std::vector<Request> gone = {
        *deny_request(filed(id(1), T0), alice(), "no", policy(), T0 + 1),
        *cancel_request(filed(id(2), T0), eve(), T0 + 2),
        *expire_if_due(filed(id(3), T0), T0 + 13 * HOUR),
        *revoke_grant(approved_at(id(4), T0), bob(), "over", policy(), T0 + 1),
        *release_grant(approved_at(id(5), T0), eve(), policy(), T0 + 1),
        approved_at(id(6), T0),  // completed: its window closed at T0 + 1h
        *deny_request(filed(id(7), cutoff - 2), alice(), "no", policy(), cutoff - 1),  // a microsecond before
    };
    std::vector<Request> kept = {
        old_filed,                                                              // pending, however old
        approved_at(id(8), cutoff - HOUR / 2),                                  // active at the cutoff
        approved_at(id(9), cutoff + DAY),                                       // approved, window to come
        *deny_request(filed(id(10), cutoff), alice(), "no", policy(), cutoff),  // ended at the cutoff
        *cancel_request(filed(id(11), cutoff + DAY), eve(), cutoff + DAY + 1),  // young
        *revoke_grant(approved_at(id(12), cutoff - HOUR / 2), bob(), "x", policy(), cutoff - HOUR / 4),  // exp after
    };
    for (const auto& r : gone)
        assert_true(store->insert(r, {}).ok());
    for (const auto& r : kept)
        assert_true(store->insert(r, {}).ok());

    size_t audited = 99;
    auto pruned = store->prune_ended(cutoff, [&](size_t count) {
        audited = count;
        AuditEntry a;
        a.event = AuditEvent::RequestsPruned;
        a.actor = "lockbox-approvald";
        a.fields["COUNT"] = std::to_string(count);
        return a;
    });
    assert_true(pruned.ok());
    assert_int_equal(*pruned, gone.size());
    assert_int_equal(audited, gone.size());
    for (const auto& r : gone) {
        auto got = store->get(r.id);
        if (got.ok())
            fail_msg("%s (%s) was kept", r.id.c_str(), state_name(r.state));
        assert_errc(got.error().code, lockbox::Errc::NotFound);
    }
    for (const auto& r : kept)
        if (!store->get(r.id).ok())
            fail_msg("%s (%s) was pruned", r.id.c_str(), state_name(r.state));
    // Hosts, keys and approvals went with their requests.
    for (const char* table : {"request_hosts", "request_ssh_keys", "approvals"}) {
        std::string sql =
            std::string("SELECT COUNT(*) FROM ") + table + " WHERE request_id NOT IN (SELECT id FROM requests)";
        assert_int_equal(count_rows(d, sql.c_str()), 0);
    }
    assert_int_equal(count_rows(d, "SELECT COUNT(*) FROM requests"), kept.size());
    auto outbox = store->unsent_audit(10);
    assert_int_equal(outbox->size(), 1);
    assert_int_equal(static_cast<int>(outbox->front().entry.event), static_cast<int>(AuditEvent::RequestsPruned));
    assert_string_equal(outbox->front().entry.fields.at("COUNT").c_str(), std::to_string(gone.size()).c_str());

    // A run with nothing to prune is audited too.
    pruned = store->prune_ended(cutoff, [&](size_t count) {
        audited = count;
        AuditEntry a;
        a.event = AuditEvent::RequestsPruned;
        return a;
    });
    assert_true(pruned.ok());
    assert_int_equal(*pruned, 0);
    assert_int_equal(audited, 0);
    assert_int_equal(store->unsent_audit(10)->size(), 2);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_get_round_trip_survives_reopen),
        cmocka_unit_test(test_unknown_id_is_not_found),
        cmocka_unit_test(test_update_stores_approvals_and_grant),
        cmocka_unit_test(test_update_is_compare_and_set_on_state),
        cmocka_unit_test(test_duplicate_insert_is_a_conflict),
        cmocka_unit_test(test_outbox_hands_out_unsent_entries_until_removed),
        cmocka_unit_test(test_expiry_queries),
        cmocka_unit_test(test_migrations_record_the_schema_version),
        cmocka_unit_test(test_list_slices_concatenate_to_the_list),
        cmocka_unit_test(test_delivered_records_leave_the_file_bounded),
        cmocka_unit_test(test_upgrade_drops_records_older_builds_kept_as_sent),
        cmocka_unit_test(test_reopen_does_not_rerun_migrations),
        cmocka_unit_test(test_retention_prunes_ended_requests_only_with_one_audit_record),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

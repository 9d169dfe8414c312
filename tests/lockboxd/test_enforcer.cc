// Enforcer with a FakeClock and real tokens: every refusal reason, the
// thin path (install -> active -> access -> session -> end), restart recovery
// and authorized_keys lines. No bus, no event loop.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "enforcer.h"
#include "enforcer_store.h"
#include "grant_verifier.h"
#include "key_file.h"
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

#include "enforcer_world.h"

namespace {

void test_valid_grant_is_admitted_and_allows_access(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    auto r = e->install(w.token(c), "root", "test");
    assert_true(r.ok());
    assert_string_equal(r->c_str(), c.jti.c_str());
    auto a = e->check_access("eng", "sshd", "10.0.0.1", "ssh");
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::Allowed));
    assert_int_equal(a.expires, c.exp);
    struct stat st {};
    assert_int_equal(stat(w.config.nss_cache_path().c_str(), &st), 0);
    assert_int_equal(stat((w.dir / "home/eng").c_str(), &st), 0);
}

void test_every_verifier_refusal_is_reported(void**) {
    World w;
    auto e = w.enforcer();
    auto good = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    std::string t = w.token(good);
    std::string tampered = t;
    char& sig = tampered[tampered.rfind('.') - 5];  // inside the signature
    sig = sig == 'A' ? 'B' : 'A';
    expect_refused(*e, tampered, "bad-signature");
    expect_refused(*e, "v4.public.garbage", "malformed");
    expect_refused(*e, lockbox::sign_grant(*w.stranger, good), "unknown-key");
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    c.aud = "fabrikam";
    expect_refused(*e, w.token(c), "wrong-tenant");
    c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    c.hosts = {"db02"};
    expect_refused(*e, w.token(c), "wrong-host");
    c = w.claims("eng", T0, T0 + 5 * 3600 * USEC_PER_SEC);
    expect_refused(*e, w.token(c), "window-too-long");
    c = w.claims("eng", T0 - 7200 * USEC_PER_SEC, T0 - 3600 * USEC_PER_SEC);
    expect_refused(*e, w.token(c), "expired");
    c = w.claims("root", T0, T0 + 3600 * USEC_PER_SEC);
    expect_refused(*e, w.token(c), "local-account");
    assert_int_equal(e->grants().size(), 0);
}

// A level this host's [Access] Levels= does not list is refused, never read as
// another level; a token without the claim gets the least privileged level.
void test_grant_with_an_unknown_access_level_is_refused(void**) {
    World w;
    w.config.access_levels = {"user", "admin"};
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    c.access = "dbadmin";
    expect_refused(*e, w.token(c), "unknown-access-level");
    assert_int_equal(e->grants().size(), 0);
    c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    c.access = "admin";
    assert_true(e->install(w.token(c), "root", "test").ok());
    c = w.claims("bob", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(c.access.empty());
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_int_equal(e->grants().size(), 2);
}

void test_revoked_grant_cannot_be_imported_again(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_true(e->revoke(c.jti, "done early", "root").ok());
    auto a = e->check_access("eng", "sshd", "", "");
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::Revoked));
    expect_refused(*e, w.token(c), "revoked");
    // ...also not after a restart.
    e.reset();
    auto e2 = w.enforcer();
    expect_refused(*e2, w.token(c), "revoked");
}

void test_unknown_user_is_not_managed(void**) {
    World w;
    auto e = w.enforcer();
    auto a = e->check_access("localuser", "sshd", "", "");
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::NotManaged));
}

void test_future_grant_waits_for_its_window(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0 + 3600 * USEC_PER_SEC, T0 + 7200 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::NotYetValid));
    auto next = e->tick();
    assert_true(next.has_value());
    assert_int_equal(*next, c.nbf - w.config.clock_skew);
    w.clock.set(c.nbf);
    e->tick();
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
}

void test_session_lifecycle_and_end_at_exp(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 60 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    auto s = e->open_session("eng", getpid(), "pts/9", "10.0.0.1", "");
    assert_true(s.ok());
    assert_string_equal(s->grant_id.c_str(), c.jti.c_str());
    assert_string_equal(s->ticket.c_str(), "INC-7");
    assert_int_equal(e->sessions().size(), 1);
    w.clock.set(c.exp);
    e->tick();
    // The uid has no processes: the kill reports at once and the session goes.
    assert_int_equal(e->sessions().size(), 0);
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Expired));
    assert_false(e->open_session("eng", getpid(), "", "", "").ok());
    struct stat st {};
    assert_int_equal(stat((w.dir / "home/eng").c_str(), &st), -1);
}

void test_restart_keeps_valid_grants_sessions_and_uids(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    uint32_t uid = *e->uids().find("eng");
    auto s = e->open_session("eng", getpid(), "pts/9", "", "");
    assert_true(s.ok());
    e.reset();
    w.clock.advance(10 * USEC_PER_SEC);
    auto e2 = w.enforcer();
    assert_int_equal(*e2->uids().find("eng"), uid);
    assert_non_null(e2->sessions().find(s->session_id));
    assert_int_equal(static_cast<int>(e2->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
}

void test_restart_after_exp_ends_sessions_at_once(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 60 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_true(e->open_session("eng", getpid(), "", "", "").ok());
    e.reset();
    w.clock.set(c.exp + 30 * USEC_PER_SEC);  // lockboxd was down across exp
    auto e2 = w.enforcer();
    assert_int_equal(e2->sessions().size(), 0);
    assert_int_equal(static_cast<int>(e2->grants().find(c.jti)->state), static_cast<int>(GrantState::Completed));
}

// Fail closed, not refuse: the damaged file is kept beside an empty new store
// and the start goes on with no grant (enforcer_damaged_state.cc). The kill of
// the uid range is proven end to end (tests/e2e/test_attack_damaged_state.py);
// here the range is one no process uses, so the unit test signals nothing.
void test_damaged_store_is_kept_and_start_goes_on_without_grants(void**) {
    World w;
    w.config.uid_min = 2147480000;
    w.config.uid_max = 2147480099;
    {
        auto e = w.enforcer();
        auto c = w.claims("eng", T0 - 60 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
        assert_true(e->install(w.token(c), "root", "test").ok());
    }
    const std::string dir = w.config.enforcer_dir();
    const std::string garbage(8192, 'Z');
    std::ofstream(dir + "/enforcer.db", std::ios::binary | std::ios::trunc) << garbage;
    unlink((dir + "/enforcer.db-wal").c_str());
    Enforcer e(w.config, w.clock, nullptr);
    auto st = e.load();
    if (!st.ok())
        fail_msg("load refused a damaged store: %s", st.error().message.c_str());
    assert_int_equal(e.grants().size(), 0);
    assert_int_equal(e.uids().size(), 0);
    assert_int_not_equal(static_cast<int>(e.check_access("eng", "sshd", "", "").reason),
                         static_cast<int>(AccessReason::Allowed));
    // Kept under a dated name, byte for byte, still private.
    std::string kept;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().filename().string().rfind("enforcer.db.damaged-", 0) == 0 &&
            entry.path().filename().string().find("-wal") == std::string::npos &&
            entry.path().filename().string().find("-shm") == std::string::npos)
            kept = entry.path();
    if (kept.empty())
        fail_msg("the damaged store was not kept in %s", dir.c_str());
    std::ifstream in(kept, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    assert_true(content == garbage);
    struct stat kst {};
    assert_int_equal(stat(kept.c_str(), &kst), 0);
    assert_int_equal(kst.st_mode & 077, 0);
    // The new store is sound: the next start reads it without moving anything.
    auto e2 = w.enforcer();
    assert_int_equal(e2->grants().size(), 0);
}

// UIDMax is the lockbox-grantees gid now; a map of an older release that gave
// it to an engineer still loads, without that entry (and nothing is moved).
void test_uid_max_of_an_older_map_is_dropped_not_damage(void**) {
    World w;
    w.config.uid_min = 2147480000;
    w.config.uid_max = 2147480099;
    mkdir(w.config.state_dir.c_str(), 0755);
    mkdir(w.config.enforcer_dir().c_str(), 0700);
    {
        auto store = EnforcerStore::open(w.config.enforcer_dir());
        assert_true(store.ok());
        assert_true((*store)->save_uids({{"old", 2147480099}, {"eng", 2147480005}}).ok());
    }
    auto e = w.enforcer();
    assert_false(e->uids().find("old").has_value());
    assert_int_equal(*e->uids().find("eng"), 2147480005);
    for (const auto& entry : std::filesystem::directory_iterator(w.config.enforcer_dir()))
        if (entry.path().filename().string().find("damaged") != std::string::npos)
            fail_msg("a map holding UIDMax was treated as damage");
}

void test_quarantine_never_replaces_a_kept_store(void**) {
    TempDir t;
    const std::string dir = t / "enforcer";
    mkdir(dir.c_str(), 0700);
    std::ofstream(dir + "/enforcer.db") << "first";
    auto a = EnforcerStore::quarantine(dir, "20260101T000000Z");
    assert_true(a.ok());
    std::ofstream(dir + "/enforcer.db") << "second";
    std::ofstream(dir + "/enforcer.db-wal") << "wal";
    auto b = EnforcerStore::quarantine(dir, "20260101T000000Z");
    assert_true(b.ok());
    assert_string_equal(a->c_str(), (dir + "/enforcer.db.damaged-20260101T000000Z").c_str());
    assert_string_equal(b->c_str(), (dir + "/enforcer.db.damaged-20260101T000000Z.1").c_str());
    std::ifstream first(*a), second(*b), wal(*b + "-wal");
    std::string x, y, z;
    first >> x;
    second >> y;
    wal >> z;
    assert_string_equal(x.c_str(), "first");
    assert_string_equal(y.c_str(), "second");
    assert_string_equal(z.c_str(), "wal");
    struct stat st {};
    assert_int_equal(stat((dir + "/enforcer.db").c_str(), &st), -1);
    auto none = EnforcerStore::quarantine(dir, "20260101T000000Z");
    assert_true(none.ok());
    assert_true(none->empty());
}

// A grant whose key was withdrawn is dropped at load and its row forgotten,
// so it is not reported again at every later start.
void test_grant_that_no_longer_verifies_is_forgotten(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0 + 600 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    e.reset();
    assert_int_equal(unlink((w.dir / "trusted.d/signing.public").c_str()), 0);
    auto e2 = w.enforcer();
    assert_null(e2->grants().find(c.jti));
    // As at a reload: revoked for good, so trusting the key again revives nothing.
    assert_true(e2->grants().is_revoked(c.jti));
    e2.reset();
    assert_int_equal(link((w.dir / "keys/signing.public").c_str(), (w.dir / "trusted.d/signing.public").c_str()), 0);
    auto e3 = w.enforcer();
    expect_refused(*e3, w.token(c), "revoked");
    e3.reset();
    auto store = EnforcerStore::open(w.config.enforcer_dir());
    assert_true(store.ok());
    auto state = (*store)->load();
    assert_true(state.ok());
    assert_int_equal(state->grants.grants.size(), 0);
    assert_int_equal(state->uids.size(), 1);  // the engineer keeps the uid
}

// Removing a key from trusted.d ends what it signed at once (SIGHUP or inotify
// call reload_trusted_keys): active and future grants of that key are revoked on
// this host for good, the engineer's session ends, grants of other keys stay.
void test_reload_drops_grants_of_a_withdrawn_key(void**) {
    World w;
    assert_int_equal(link((w.dir / "other/signing.public").c_str(), (w.dir / "trusted.d/other.public").c_str()), 0);
    auto e = w.enforcer();
    assert_int_equal(e->trusted_key_count(), 2);
    auto active = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    auto future = w.claims("fut", T0 + 600 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    auto other = w.claims("oth", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(active), "root", "test").ok());
    assert_true(e->install(w.token(future), "root", "test").ok());
    assert_true(e->install(lockbox::sign_grant(*w.stranger, other), "root", "test").ok());
    assert_true(e->open_session("eng", getpid(), "pts/9", "", "").ok());
    std::vector<std::pair<std::string, std::string>> changed;
    e->on_grant_changed = [&changed](const std::string& jti, const char* state) { changed.emplace_back(jti, state); };

    assert_int_equal(e->reload_trusted_keys("reload"), 0);  // nothing changed: nothing dropped
    assert_int_equal(unlink((w.dir / "trusted.d/signing.public").c_str()), 0);
    assert_int_equal(e->reload_trusted_keys("directory-changed"), 2);
    assert_int_equal(e->trusted_key_count(), 1);
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Revoked));
    assert_int_equal(static_cast<int>(e->grants().find(future.jti)->state), static_cast<int>(GrantState::Revoked));
    assert_int_equal(e->sessions().size(), 0);  // no processes: the kill reports at once
    assert_int_equal(static_cast<int>(e->check_access("oth", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
    assert_int_equal(changed.size(), 2);
    assert_string_equal(changed[0].second.c_str(), "revoked");

    // Trusting the key again does not bring its grants back; a new one installs.
    assert_int_equal(link((w.dir / "keys/signing.public").c_str(), (w.dir / "trusted.d/signing.public").c_str()), 0);
    assert_int_equal(e->reload_trusted_keys("reload"), 0);
    assert_int_equal(e->trusted_key_count(), 2);
    expect_refused(*e, w.token(active), "revoked");
    auto again = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(again), "root", "test").ok());
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
    // What was dropped stays dropped after a restart.
    e.reset();
    auto e2 = w.enforcer();
    assert_true(e2->grants().is_revoked(active.jti));
    assert_true(e2->grants().is_revoked(future.jti));
}

// A trusted directory that is gone, or that others can write, trusts nothing.
void test_reload_of_a_gone_or_unsafe_directory_trusts_nothing(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_int_equal(chmod((w.dir / "trusted.d").c_str(), 0777), 0);
    assert_int_equal(e->reload_trusted_keys("reload"), 1);
    assert_int_equal(e->trusted_key_count(), 0);
    assert_int_equal(chmod((w.dir / "trusted.d").c_str(), 0755), 0);
    assert_int_equal(e->reload_trusted_keys("reload"), 0);
    assert_int_equal(e->trusted_key_count(), 1);
    auto d = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(d), "root", "test").ok());
    assert_int_equal(rename((w.dir / "trusted.d").c_str(), (w.dir / "trusted.old").c_str()), 0);
    assert_int_equal(e->reload_trusted_keys("reload"), 1);
    assert_int_equal(e->trusted_key_count(), 0);
    expect_refused(*e, w.token(w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC)), "unknown-key");
}

void test_authorized_keys_carry_options_and_utc_expiry(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);  // exp 2027-01-15T09:00:00Z
    assert_true(e->install(w.token(c), "root", "test").ok());
    std::string lines = e->authorized_keys("eng");
    std::string expected = std::string("restrict,pty,expiry-time=\"20270115090000Z\" ") + SSH_KEY + "\n";
    assert_string_equal(lines.c_str(), expected.c_str());
    assert_string_equal(e->authorized_keys("nobody-else").c_str(), "");
}

void test_grant_list_is_newest_first_and_fits_one_bus_reply(void**) {
    World w;
    auto e = w.enforcer();
    std::vector<std::string> jtis;
    for (const char* sub : {"ann", "bob", "cyd"}) {
        auto c = w.claims(sub, T0 + 60 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
        assert_true(e->install(w.token(c), "root", "test").ok());
        jtis.push_back(c.jti);
        w.clock.advance(USEC_PER_SEC);  // installed one second apart
    }
    auto all = nlohmann::json::parse(e->grants_json());
    assert_int_equal(all.size(), 3);
    assert_string_equal(all[0]["id"].get<std::string>().c_str(), jtis[2].c_str());
    assert_string_equal(all[2]["id"].get<std::string>().c_str(), jtis[0].c_str());
    // A budget that holds one entry: the newest, still a valid JSON array.
    size_t one = all[0].dump().size() + 2;
    auto cut = nlohmann::json::parse(e->grants_json(one));
    assert_int_equal(cut.size(), 1);
    assert_string_equal(cut[0]["id"].get<std::string>().c_str(), jtis[2].c_str());
    assert_int_equal(nlohmann::json::parse(e->grants_json(1)).size(), 0);
}

// ListGrantsPage: pages of the same list, no grant twice and none left out,
// also when a grant is installed between pages (it is newer: before the cursor).
void test_grant_pages_concatenate_to_the_list(void**) {
    World w;
    auto e = w.enforcer();
    for (int i = 0; i < 7; i++) {
        auto c = w.claims("eng" + std::to_string(i), T0 + 60 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
        assert_true(e->install(w.token(c), "root", "test").ok());
        if (i % 2)
            w.clock.advance(USEC_PER_SEC);  // pairs installed in the same microsecond: the jti orders them
    }
    std::vector<std::string> expected, seen;
    for (const auto& g : nlohmann::json::parse(e->grants_json()))
        expected.push_back(g["id"].get<std::string>());
    std::optional<lockbox::ListPosition> after;
    for (int page_no = 0;; page_no++) {
        assert_true(page_no < 4);
        const lockbox::ListPage page = e->grants_page(after, 3);
        for (const auto& g : nlohmann::json::parse(page.json_array()))
            seen.push_back(g["id"].get<std::string>());
        if (page.next_cursor().empty())
            break;
        after = **lockbox::parse_list_cursor(page.next_cursor());
        w.clock.advance(USEC_PER_SEC);
        auto c = w.claims("new" + std::to_string(page_no), T0 + 60 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
        assert_true(e->install(w.token(c), "root", "test").ok());
    }
    assert_int_equal(seen.size(), 7);
    assert_true(seen == expected);
    // The byte budget ends a page early; the cursor continues after what it held.
    const lockbox::ListPage small =
        e->grants_page(std::nullopt, 1000, 2 + nlohmann::json::parse(e->grants_json())[0].dump().size());
    assert_int_equal(small.count(), 1);
    assert_false(small.next_cursor().empty());
}

// NSS as it answers after an admin added a local account "eng" (uid 1777), or
// with "eng" in the lockbox range, or while the directory is down.
enum class EngIs { Unknown, Local, LocalInRange, Unreachable };
EngIs eng_is = EngIs::Unknown;
char eng_name[] = "eng";

int pwnam_with_eng(const char* name, struct passwd* pw, char* buf, size_t len, struct passwd** res) {
    if (std::string(name) != "eng" || eng_is == EngIs::Unknown)
        return ::getpwnam_r(name, pw, buf, len, res);
    *res = nullptr;
    if (eng_is == EngIs::Unreachable)
        return EIO;
    pw->pw_name = eng_name;
    pw->pw_uid = eng_is == EngIs::Local ? 1777 : 2100000042;
    *res = pw;
    return 0;
}

std::unique_ptr<Enforcer> enforcer_with_eng_source(World& w) {
    auto e = w.enforcer();
    e->nss_lookups.getpwnam_r = pwnam_with_eng;
    return e;
}

void test_name_that_becomes_local_loses_keys_access_and_sessions(void**) {
    World w;
    eng_is = EngIs::Unknown;
    auto e = enforcer_with_eng_source(w);
    auto c = w.claims("eng", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");

    for (EngIs now : {EngIs::Local, EngIs::LocalInRange, EngIs::Unreachable}) {
        eng_is = now;
        w.clock.advance(USEC_PER_SEC);  // past the reuse of the last positive answer
        assert_string_equal(e->authorized_keys("eng").c_str(), "");
        auto a = e->check_access("eng", "sshd", "", "");
        assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::NameConflict));
        assert_string_equal(a.jti.c_str(), "");
        auto s = e->open_session("eng", getpid(), "", "", "");
        assert_false(s.ok());
        assert_errc(s.error().code, lockbox::Errc::AccessDenied);
    }
    assert_int_equal(e->sessions().size(), 0);

    eng_is = EngIs::Unknown;  // the account was removed again
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
}

void append(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::app) << text; }

void test_a_recent_answer_serves_until_its_ttl_or_an_edit_of_the_account_files(void**) {
    World w;
    eng_is = EngIs::Unknown;
    auto e = enforcer_with_eng_source(w);
    mkdir((w.dir / "etc").c_str(), 0755);
    append(w.dir / "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    append(w.dir / "etc/group", "root:x:0:\n");
    e->etc_dir = w.dir / "etc";
    auto c = w.claims("eng", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");

    eng_is = EngIs::Local;                                           // as a directory source would start answering
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");  // within the TTL
    append(w.dir / "etc/passwd", "eng:x:1777:1777::/home/eng:/bin/sh\n");  // useradd
    assert_string_equal(e->authorized_keys("eng").c_str(), "");            // at once, not after the TTL

    eng_is = EngIs::Unknown;  // a conflict is never cached: the next use asks again
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");
    eng_is = EngIs::Local;
    w.clock.advance(USEC_PER_SEC);
    assert_string_equal(e->authorized_keys("eng").c_str(), "");
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::NameConflict));
    eng_is = EngIs::Unknown;
}

void test_grant_for_a_name_known_elsewhere_is_refused_whatever_its_uid(void**) {
    World w;
    auto e = enforcer_with_eng_source(w);
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    eng_is = EngIs::LocalInRange;
    expect_refused(*e, w.token(c), "local-account");
    eng_is = EngIs::Local;
    expect_refused(*e, w.token(c), "local-account");
    eng_is = EngIs::Unreachable;
    expect_refused(*e, w.token(c), "nss-lookup-failed", lockbox::Errc::GrantDeferred);
    assert_int_equal(e->grants().size(), 0);
    assert_false(e->uids().find("eng").has_value());  // the tentative uid was released
    eng_is = EngIs::Unknown;
    assert_true(e->install(w.token(c), "root", "test").ok());
}

void test_a_grant_refused_while_a_source_was_down_is_installed_at_the_next_resync(void**) {
    World w;
    auto e = enforcer_with_eng_source(w);
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    eng_is = EngIs::Unreachable;
    e->sync({{c.jti, w.token(c)}}, {}, "approval-service");
    assert_null(e->grants().find(c.jti));
    eng_is = EngIs::Unknown;
    e->sync({{c.jti, w.token(c)}}, {}, "approval-service");
    assert_non_null(e->grants().find(c.jti));
    // A local account, by contrast, refuses the grant for good.
    auto other = w.claims("eng", T0, T0 + 1800 * USEC_PER_SEC);
    eng_is = EngIs::Local;
    e->sync({{other.jti, w.token(other)}}, {}, "approval-service");
    eng_is = EngIs::Unknown;
    e->sync({{other.jti, w.token(other)}}, {}, "approval-service");
    assert_null(e->grants().find(other.jti));
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_grant_is_admitted_and_allows_access),
        cmocka_unit_test(test_every_verifier_refusal_is_reported),
        cmocka_unit_test(test_grant_with_an_unknown_access_level_is_refused),
        cmocka_unit_test(test_revoked_grant_cannot_be_imported_again),
        cmocka_unit_test(test_unknown_user_is_not_managed),
        cmocka_unit_test(test_future_grant_waits_for_its_window),
        cmocka_unit_test(test_session_lifecycle_and_end_at_exp),
        cmocka_unit_test(test_restart_keeps_valid_grants_sessions_and_uids),
        cmocka_unit_test(test_restart_after_exp_ends_sessions_at_once),
        cmocka_unit_test(test_damaged_store_is_kept_and_start_goes_on_without_grants),
        cmocka_unit_test(test_uid_max_of_an_older_map_is_dropped_not_damage),
        cmocka_unit_test(test_quarantine_never_replaces_a_kept_store),
        cmocka_unit_test(test_grant_that_no_longer_verifies_is_forgotten),
        cmocka_unit_test(test_reload_drops_grants_of_a_withdrawn_key),
        cmocka_unit_test(test_reload_of_a_gone_or_unsafe_directory_trusts_nothing),
        cmocka_unit_test(test_authorized_keys_carry_options_and_utc_expiry),
        cmocka_unit_test(test_grant_list_is_newest_first_and_fits_one_bus_reply),
        cmocka_unit_test(test_grant_pages_concatenate_to_the_list),
        cmocka_unit_test(test_name_that_becomes_local_loses_keys_access_and_sessions),
        cmocka_unit_test(test_a_recent_answer_serves_until_its_ttl_or_an_edit_of_the_account_files),
        cmocka_unit_test(test_grant_for_a_name_known_elsewhere_is_refused_whatever_its_uid),
        cmocka_unit_test(test_a_grant_refused_while_a_source_was_down_is_installed_at_the_next_resync),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

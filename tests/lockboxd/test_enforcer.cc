// Enforcer with a FakeClock and real tokens: every refusal reason, the
// thin path (install -> active -> access -> session -> end), restart recovery
// and authorized_keys lines. No bus, no event loop.

#include <fstream>
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

using namespace lockboxd;
using lockbox::USEC_PER_SEC;

namespace {

constexpr usec_t T0 = 1'800'000'000 * USEC_PER_SEC;
const char* SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eng@laptop";

struct World {
    TempDir dir;
    lockbox::FakeClock clock{T0};
    lockbox::Config config;
    std::unique_ptr<lockbox::SecretKey> key;
    std::unique_ptr<lockbox::SecretKey> stranger;
    int serial = 0;

    World() {
        auto kid = lockbox::generate_key_pair(dir / "keys");
        assert_true(kid.ok());
        auto other = lockbox::generate_key_pair(dir / "other");
        assert_true(other.ok());
        mkdir((dir / "trusted.d").c_str(), 0755);
        assert_int_equal(link((dir / "keys/signing.public").c_str(), (dir / "trusted.d/signing.public").c_str()), 0);
        key = std::make_unique<lockbox::SecretKey>(*lockbox::load_secret_key_file(dir / "keys/signing.secret", geteuid()));
        stranger =
            std::make_unique<lockbox::SecretKey>(*lockbox::load_secret_key_file(dir / "other/signing.secret", geteuid()));
        config = lockbox::default_config();
        config.tenant = "contoso";
        config.host_name = "db01";
        config.trusted_dir = dir / "trusted.d";
        config.key_owner = geteuid();
        config.state_dir = dir / "state";
        config.runtime_dir = dir / "run";
        config.home_base = dir / "home";
        config.record = false;
        config.max_grant = 4 * 3600 * USEC_PER_SEC;
        config.kill_grace = 100'000;
    }

    lockbox::GrantClaims claims(const std::string& sub, usec_t nbf, usec_t exp) {
        lockbox::GrantClaims c;
        c.iss = "approvald";
        c.sub = sub;
        c.aud = "contoso";
        char jti[40];
        std::snprintf(jti, sizeof jti, "00000000-0000-4000-8000-%012d", ++serial);
        c.jti = jti;
        c.iat = nbf;
        c.nbf = nbf;
        c.exp = exp;
        c.hosts = {"db01"};
        c.ticket = "INC-7";
        c.reason = "disk full";
        c.ssh_keys = {SSH_KEY};
        c.approved_by = {{"manager", "mallory", nbf}, {"approver", "alice", nbf}};
        return c;
    }
    std::string token(const lockbox::GrantClaims& c) { return lockbox::sign_grant(*key, c); }

    std::unique_ptr<Enforcer> enforcer() {
        auto e = std::make_unique<Enforcer>(config, clock, nullptr);
        e->leftover_places = {{}, "", "", false};
        e->proc_root = dir / "no-proc";  // the range sweep must not reach this machine's processes
        auto st = e->load();
        if (!st.ok())
            fail_msg("load: %s", st.error().message.c_str());
        e->recover();
        return e;
    }
};

void expect_refused(Enforcer& e, const std::string& token, const char* verdict) {
    auto r = e.install(token, "root", "test");
    assert_false(r.ok());
    assert_string_equal(r.error().code.c_str(), "grant-refused");
    if (r.error().message.rfind(verdict, 0) != 0)
        fail_msg("expected verdict %s, got: %s", verdict, r.error().message.c_str());
}

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

// The JSON files of the release before enforcer.db: imported at the first
// start, tokens verified as ever, the files kept as *.migrated.
void test_state_of_an_older_release_is_migrated(void**) {
    World w;
    auto c = w.claims("eng", T0, T0 + 3600 * USEC_PER_SEC);
    const std::string dir = w.config.enforcer_dir();
    mkdir(w.config.state_dir.c_str(), 0755);
    mkdir(dir.c_str(), 0700);
    std::ofstream(dir + "/grants.json") << R"({"version":1,"grants":[{"token":")" << w.token(c)
                                        << R"(","state":"active","installed_at":1,"ended_at":0,"sub":"eng","jti":")"
                                        << c.jti << R"(","exp":)" << c.exp << R"(}],"revoked":["gone"]})";
    std::ofstream(dir + "/uids.json") << R"({"version":1,"uids":{"eng":2100000042}})";
    auto e = w.enforcer();
    assert_int_equal(*e->uids().find("eng"), 2100000042);
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
    assert_true(e->grants().is_revoked("gone"));
    struct stat st {};
    assert_int_equal(stat((dir + "/enforcer.db").c_str(), &st), 0);
    assert_int_equal(stat((dir + "/grants.json.migrated").c_str(), &st), 0);
    assert_int_equal(stat((dir + "/uids.json").c_str(), &st), -1);
    // The next start reads the database alone.
    e.reset();
    auto e2 = w.enforcer();
    assert_int_equal(e2->grants().size(), 1);
    assert_int_equal(*e2->uids().find("eng"), 2100000042);
}

void test_damaged_store_refuses_start_naming_the_file(void**) {
    World w;
    const std::string dir = w.config.enforcer_dir();
    mkdir(w.config.state_dir.c_str(), 0755);
    mkdir(dir.c_str(), 0700);
    std::ofstream(dir + "/enforcer.db") << std::string(8192, 'Z');
    Enforcer e(w.config, w.clock, nullptr);
    auto st = e.load();
    assert_false(st.ok());
    if (st.error().message.find(dir + "/enforcer.db") == std::string::npos)
        fail_msg("error does not name the file: %s", st.error().message.c_str());
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
    e2.reset();
    auto store = EnforcerStore::open(w.config.enforcer_dir());
    assert_true(store.ok());
    auto state = (*store)->load();
    assert_true(state.ok());
    assert_int_equal(state->grants.grants.size(), 0);
    assert_int_equal(state->uids.size(), 1);  // the engineer keeps the uid
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
        assert_string_equal(s.error().code.c_str(), "access-denied");
    }
    assert_int_equal(e->sessions().size(), 0);

    eng_is = EngIs::Unknown;  // the account was removed again
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");
    assert_int_equal(static_cast<int>(e->check_access("eng", "sshd", "", "").reason),
                     static_cast<int>(AccessReason::Allowed));
}

void append(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::app) << text;
}

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

    eng_is = EngIs::Local;  // as a directory source would start answering
    assert_string_not_equal(e->authorized_keys("eng").c_str(), "");  // within the TTL
    append(w.dir / "etc/passwd", "eng:x:1777:1777::/home/eng:/bin/sh\n");  // useradd
    assert_string_equal(e->authorized_keys("eng").c_str(), "");  // at once, not after the TTL

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
    expect_refused(*e, w.token(c), "nss-lookup-failed");
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
        cmocka_unit_test(test_revoked_grant_cannot_be_imported_again),
        cmocka_unit_test(test_unknown_user_is_not_managed),
        cmocka_unit_test(test_future_grant_waits_for_its_window),
        cmocka_unit_test(test_session_lifecycle_and_end_at_exp),
        cmocka_unit_test(test_restart_keeps_valid_grants_sessions_and_uids),
        cmocka_unit_test(test_restart_after_exp_ends_sessions_at_once),
        cmocka_unit_test(test_state_of_an_older_release_is_migrated),
        cmocka_unit_test(test_damaged_store_refuses_start_naming_the_file),
        cmocka_unit_test(test_grant_that_no_longer_verifies_is_forgotten),
        cmocka_unit_test(test_authorized_keys_carry_options_and_utc_expiry),
        cmocka_unit_test(test_grant_list_is_newest_first_and_fits_one_bus_reply),
        cmocka_unit_test(test_name_that_becomes_local_loses_keys_access_and_sessions),
        cmocka_unit_test(test_a_recent_answer_serves_until_its_ttl_or_an_edit_of_the_account_files),
        cmocka_unit_test(test_grant_for_a_name_known_elsewhere_is_refused_whatever_its_uid),
        cmocka_unit_test(test_a_grant_refused_while_a_source_was_down_is_installed_at_the_next_resync),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// The Enforcer and the NSS cache (issue 15): the cache follows activations
// and every kind of end, an engineer stops resolving by the time the call that
// ended their access returns, and a restart (which trusts lockboxd's own
// store instead of verifying every signature again) never brings back a grant
// that ended, while every check but the signature still runs.

#include <memory>
#include <string>

#include "enforcer.h"
#include "enforcer_store.h"

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
#include "nss_cache_probe.h"

namespace {

AccessReason access_of(Enforcer& e, const std::string& user) { return e.check_access(user, "sshd", "", "").reason; }

void test_the_cache_follows_activation_revocation_and_expiry(void**) {
    World w;
    auto e = w.enforcer();
    auto later = w.claims("ann", T0 + 600 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    auto now = w.claims("bob", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(later), "root", "test").ok());
    assert_true(e->install(w.token(now), "root", "test").ok());
    assert_false(resolves(w.config, "ann", w.clock.now()));  // installed, window not begun
    assert_true(resolves(w.config, "bob", w.clock.now()));

    w.clock.set(later.nbf);
    e->tick();
    assert_true(resolves(w.config, "ann", w.clock.now()));

    // Revocation: bob stops resolving by the time revoke() returns.
    assert_true(e->revoke(now.jti, "done", "root").ok());
    assert_false(resolves(w.config, "bob", w.clock.now()));
    assert_true(resolves(w.config, "ann", w.clock.now()));

    // Expiry with a kill lead: access ends before exp, and so does the record,
    // though the record's own expires (exp) has not come yet.
    e.reset();
    w.config.kill_lead = 60 * USEC_PER_SEC;
    e = w.enforcer();
    assert_true(resolves(w.config, "ann", w.clock.now()));
    w.clock.set(later.exp - 30 * USEC_PER_SEC);
    e->tick();
    assert_int_equal(static_cast<int>(access_of(*e, "ann")), static_cast<int>(AccessReason::Expired));
    assert_false(resolves(w.config, "ann", w.clock.now()));
}

// Two grants of one engineer: the end of one leaves the account; the end of
// the last removes it.
void test_an_engineer_resolves_while_any_grant_of_theirs_is_active(void**) {
    World w;
    auto e = w.enforcer();
    auto first = w.claims("ann", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    auto second = w.claims("ann", T0 - 10 * USEC_PER_SEC, T0 + 1800 * USEC_PER_SEC);
    assert_true(e->install(w.token(first), "root", "test").ok());
    assert_true(e->install(w.token(second), "root", "test").ok());
    assert_true(e->revoke(first.jti, "one of two", "root").ok());
    assert_true(resolves(w.config, "ann", w.clock.now()));
    assert_true(e->revoke(second.jti, "the last", "root").ok());
    assert_false(resolves(w.config, "ann", w.clock.now()));
}

// The start-up reads the store without checking signatures again: a revoked
// and a completed grant come back ended, their engineers denied and absent
// from the cache, and the cache a previous run left is replaced before the
// (here absent) bus name would be taken.
void test_restart_with_stored_ended_grants_never_revives_them(void**) {
    World w;
    auto e = w.enforcer();
    auto revoked = w.claims("ann", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    auto completed = w.claims("bob", T0 - 10 * USEC_PER_SEC, T0 + 60 * USEC_PER_SEC);
    auto live = w.claims("carl", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    for (const auto* c : {&revoked, &completed, &live})
        assert_true(e->install(w.token(*c), "root", "test").ok());
    assert_true(e->revoke(revoked.jti, "ended", "root").ok());
    e.reset();
    // bob's window ends while lockboxd is down; the file the last run left
    // still lists him.
    w.clock.set(completed.exp + 10 * USEC_PER_SEC);
    assert_true(resolves(w.config, "bob", completed.exp - USEC_PER_SEC));

    auto e2 = w.enforcer();
    assert_int_equal(static_cast<int>(e2->grants().find(revoked.jti)->state), static_cast<int>(GrantState::Revoked));
    assert_int_equal(static_cast<int>(e2->grants().find(completed.jti)->state),
                     static_cast<int>(GrantState::Completed));
    assert_int_equal(static_cast<int>(access_of(*e2, "ann")), static_cast<int>(AccessReason::Revoked));
    assert_int_equal(static_cast<int>(access_of(*e2, "bob")), static_cast<int>(AccessReason::Expired));
    assert_int_equal(static_cast<int>(access_of(*e2, "carl")), static_cast<int>(AccessReason::Allowed));
    assert_false(resolves(w.config, "ann", w.clock.now()));
    assert_false(resolves(w.config, "bob", completed.exp - USEC_PER_SEC));  // gone from the file, not just expired
    assert_true(resolves(w.config, "carl", w.clock.now()));
    expect_refused(*e2, w.token(revoked), "revoked");
}

// Trusting the store skips the signature only: a grant for another tenant
// (the host's Tenant= changed while lockboxd was down) is dropped at start-up
// as before.
void test_restart_still_checks_everything_but_the_signature(void**) {
    World w;
    auto e = w.enforcer();
    auto c = w.claims("ann", T0 - 10 * USEC_PER_SEC, T0 + 3600 * USEC_PER_SEC);
    assert_true(e->install(w.token(c), "root", "test").ok());
    e.reset();
    w.config.tenant = "fabrikam";
    auto e2 = w.enforcer();
    assert_null(e2->grants().find(c.jti));
    assert_false(resolves(w.config, "ann", w.clock.now()));
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_cache_follows_activation_revocation_and_expiry),
        cmocka_unit_test(test_an_engineer_resolves_while_any_grant_of_theirs_is_active),
        cmocka_unit_test(test_restart_with_stored_ended_grants_never_revives_them),
        cmocka_unit_test(test_restart_still_checks_everything_but_the_signature),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

// GrantRegistry: states over time, access reasons, warnings, clock jumps and
// the change set persistence writes, all on explicit times (no clock is read).

#include <initializer_list>
#include <unordered_set>

#include "grant_registry.h"

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
constexpr usec_t SKEW = 30 * USEC_PER_SEC;

GrantPolicy policy() { return GrantPolicy{SKEW, {60 * USEC_PER_SEC, 600 * USEC_PER_SEC}}; }

Grant make(const std::string& jti, const std::string& sub, usec_t nbf, usec_t exp) {
    Grant g;
    g.token = "v4.public.fake-" + jti;
    g.claims.jti = jti;
    g.claims.sub = sub;
    g.claims.aud = "contoso";
    g.claims.nbf = nbf;
    g.claims.exp = exp;
    g.claims.ticket = "INC-1";
    return g;
}

size_t count_kind(const std::vector<GrantEvent>& evs, GrantEventKind k) {
    size_t n = 0;
    for (const auto& e : evs)
        n += e.kind == k;
    return n;
}

void test_unknown_user_has_no_grant(void**) {
    GrantRegistry reg(policy());
    assert_int_equal(static_cast<int>(reg.access("alice", T0).reason), static_cast<int>(AccessReason::NoGrant));
}

void test_grant_activates_at_nbf_minus_skew_and_allows(void**) {
    GrantRegistry reg(policy());
    usec_t nbf = T0 + 100 * USEC_PER_SEC;
    assert_true(reg.insert(make("g1", "eng", nbf, nbf + 3600 * USEC_PER_SEC), T0));
    assert_int_equal(*reg.next_deadline(), nbf - SKEW);
    auto a = reg.access("eng", T0);
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::NotYetValid));
    assert_true(reg.advance(nbf - SKEW - 1).empty());
    auto evs = reg.advance(nbf - SKEW);
    assert_int_equal(count_kind(evs, GrantEventKind::Activated), 1);
    a = reg.access("eng", nbf);
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::Allowed));
    assert_string_equal(a.jti.c_str(), "g1");
    assert_int_equal(a.expires, nbf + 3600 * USEC_PER_SEC);
}

void test_access_denied_at_exp_even_before_timer_fires(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("g1", "eng", T0, exp), T0);
    reg.advance(T0);
    assert_int_equal(static_cast<int>(reg.access("eng", exp - 1).reason), static_cast<int>(AccessReason::Allowed));
    // No advance() at exp: the answer still changes exactly at exp.
    assert_int_equal(static_cast<int>(reg.access("eng", exp).reason), static_cast<int>(AccessReason::Expired));
}

void test_completion_at_exp_reports_was_active(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("g1", "eng", T0, exp), T0);
    reg.advance(T0);
    auto evs = reg.advance(exp);
    bool found = false;
    for (const auto& e : evs)
        if (e.kind == GrantEventKind::Completed) {
            found = true;
            assert_true(e.was_active);
        }
    assert_true(found);
    assert_int_equal(static_cast<int>(reg.find("g1")->state), static_cast<int>(GrantState::Completed));
    assert_false(reg.next_deadline().has_value());
}

void test_warnings_come_in_order_before_exp(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("g1", "eng", T0, exp), T0);
    reg.advance(T0);
    assert_int_equal(*reg.next_deadline(), exp - 600 * USEC_PER_SEC);
    auto evs = reg.advance(exp - 600 * USEC_PER_SEC);
    assert_int_equal(evs.size(), 1);
    assert_int_equal(static_cast<int>(evs[0].kind), static_cast<int>(GrantEventKind::Warning));
    assert_int_equal(evs[0].lead, 600 * USEC_PER_SEC);
    evs = reg.advance(exp - 60 * USEC_PER_SEC);
    assert_int_equal(evs.size(), 1);
    assert_int_equal(evs[0].lead, 60 * USEC_PER_SEC);
    assert_int_equal(*reg.next_deadline(), exp);
}

void test_clock_jump_forward_past_window_completes_without_activation(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("g1", "eng", T0 + 100 * USEC_PER_SEC, T0 + 200 * USEC_PER_SEC), T0);
    auto evs = reg.advance(T0 + 10'000 * USEC_PER_SEC);
    assert_int_equal(count_kind(evs, GrantEventKind::Activated), 0);
    assert_int_equal(count_kind(evs, GrantEventKind::Completed), 1);
    assert_false(evs[0].was_active);
}

void test_clock_jump_forward_during_window_skips_to_completion(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("g1", "eng", T0, exp), T0);
    reg.advance(T0);
    auto evs = reg.advance(exp + 5 * USEC_PER_SEC);
    assert_int_equal(count_kind(evs, GrantEventKind::Completed), 1);
    assert_int_equal(count_kind(evs, GrantEventKind::Warning), 0);
}

void test_clock_jump_backward_keeps_deadline_absolute(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("g1", "eng", T0, exp), T0);
    reg.advance(T0);
    // Time goes back an hour: nothing fires, the deadline stays on the wall clock.
    assert_true(reg.advance(T0 - 3600 * USEC_PER_SEC).empty());
    assert_int_equal(*reg.next_deadline(), exp - 600 * USEC_PER_SEC);
    assert_int_equal(static_cast<int>(reg.access("eng", T0 - 3600 * USEC_PER_SEC).reason),
                     static_cast<int>(AccessReason::NotYetValid));
}

void test_revoked_grant_denies_and_never_comes_back(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("g1", "eng", T0, T0 + 3600 * USEC_PER_SEC), T0);
    reg.advance(T0);
    auto before = reg.revoke("g1", T0 + 1);
    assert_true(before.has_value());
    assert_int_equal(static_cast<int>(*before), static_cast<int>(GrantState::Active));
    assert_int_equal(static_cast<int>(reg.access("eng", T0 + 2).reason), static_cast<int>(AccessReason::Revoked));
    assert_false(reg.insert(make("g1", "eng", T0, T0 + 3600 * USEC_PER_SEC), T0));
}

void test_revoking_unknown_id_blocks_later_insert(void**) {
    GrantRegistry reg(policy());
    assert_false(reg.revoke("g9", T0).has_value());
    assert_true(reg.is_revoked("g9"));
    assert_false(reg.insert(make("g9", "eng", T0, T0 + 60 * USEC_PER_SEC), T0));
}

void test_latest_grant_decides_denial_reason(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("old", "eng", T0 - 7200 * USEC_PER_SEC, T0 - 3600 * USEC_PER_SEC), T0);
    reg.insert(make("new", "eng", T0 + 3600 * USEC_PER_SEC, T0 + 7200 * USEC_PER_SEC), T0);
    reg.advance(T0);
    auto a = reg.access("eng", T0);
    assert_int_equal(static_cast<int>(a.reason), static_cast<int>(AccessReason::NotYetValid));
    assert_string_equal(a.jti.c_str(), "new");
}

void test_overlapping_grants_keep_access_until_last_exp(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("a", "eng", T0, T0 + 100 * USEC_PER_SEC), T0);
    reg.insert(make("b", "eng", T0, T0 + 200 * USEC_PER_SEC), T0);
    reg.advance(T0);
    reg.advance(T0 + 100 * USEC_PER_SEC);
    assert_true(reg.has_active_grant("eng", T0 + 100 * USEC_PER_SEC));
    assert_false(reg.has_active_grant("eng", T0 + 100 * USEC_PER_SEC, "b"));
    auto a = reg.access("eng", T0 + 150 * USEC_PER_SEC);
    assert_string_equal(a.jti.c_str(), "b");
}

void test_no_warning_when_another_grant_carries_access_past_the_end(void**) {
    GrantRegistry reg(policy());
    usec_t end_a = T0 + 3600 * USEC_PER_SEC;
    reg.insert(make("a", "eng", T0, end_a), T0);
    reg.insert(make("b", "eng", T0, end_a + 3600 * USEC_PER_SEC), T0);
    reg.advance(T0);
    auto evs = reg.advance(end_a - 60 * USEC_PER_SEC);  // both of a's leads are due
    for (const auto& e : evs)
        assert_false(e.kind == GrantEventKind::Warning && e.jti == "a");
    // b's own end is warned: nothing carries access past it.
    evs = reg.advance(end_a + 3600 * USEC_PER_SEC - 600 * USEC_PER_SEC);
    assert_int_equal(count_kind(evs, GrantEventKind::Warning), 1);
    for (const auto& e : evs)
        if (e.kind == GrantEventKind::Warning)
            assert_string_equal(e.jti.c_str(), "b");
}

bool same(const std::unordered_set<std::string>& got, std::initializer_list<const char*> want) {
    if (got.size() != want.size())
        return false;
    for (const char* w : want)
        if (!got.count(w))
            return false;
    return true;
}

void test_changes_name_only_what_changed(void**) {
    GrantRegistry reg(policy());
    for (int i = 0; i < 50; i++)
        reg.insert(make("g" + std::to_string(i), "eng" + std::to_string(i), T0 + 3600 * USEC_PER_SEC,
                        T0 + 7200 * USEC_PER_SEC),
                   T0);
    reg.insert(make("a", "eng", T0, T0 + 100 * USEC_PER_SEC), T0);
    assert_int_equal(reg.changes().written.size(), 51);
    reg.clear_changes();
    assert_true(reg.changes().empty());

    reg.advance(T0);  // a activates; the 50 others wait
    assert_true(same(reg.changes().written, {"a"}));
    reg.clear_changes();
    reg.advance(T0 + 40 * USEC_PER_SEC);  // a warning is not a state change
    assert_true(reg.changes().empty());

    reg.revoke("zzz", T0);  // unknown: only remembered
    assert_true(reg.changes().written.empty());
    assert_int_equal(reg.changes().revoked.size(), 1);
    assert_string_equal(reg.changes().revoked[0].c_str(), "zzz");
    reg.clear_changes();
    reg.revoke("zzz", T0);  // known already: nothing new
    assert_true(reg.changes().empty());
    reg.revoke("g7", T0);
    assert_true(same(reg.changes().written, {"g7"}));
    assert_int_equal(reg.changes().revoked.size(), 1);
    reg.clear_changes();

    reg.advance(T0 + 100 * USEC_PER_SEC);  // a completes
    assert_true(same(reg.changes().written, {"a"}));
    reg.prune(T0 + 200 * USEC_PER_SEC, 10 * USEC_PER_SEC);
    assert_true(reg.changes().written.empty());  // a row to delete, not to write
    assert_true(same(reg.changes().removed, {"a"}));
}

void test_persisted_form_copies_the_claims_it_needs(void**) {
    Grant g = make("a", "eng", T0, T0 + 100 * USEC_PER_SEC);
    g.state = GrantState::Revoked;
    g.installed_at = T0 - 5;
    g.ended_at = T0 + 7;
    PersistedGrant p = GrantRegistry::persisted(g);
    assert_string_equal(p.token.c_str(), "v4.public.fake-a");
    assert_string_equal(p.jti.c_str(), "a");
    assert_string_equal(p.sub.c_str(), "eng");
    assert_int_equal(p.exp, T0 + 100 * USEC_PER_SEC);
    assert_int_equal(p.installed_at, T0 - 5);
    assert_int_equal(p.ended_at, T0 + 7);
    assert_int_equal(static_cast<int>(p.state), static_cast<int>(GrantState::Revoked));
}

void test_active_on_reload_skips_past_warnings(void**) {
    GrantRegistry reg(policy());
    usec_t exp = T0 + 300 * USEC_PER_SEC;  // 10-minute warning already past
    Grant g = make("g1", "eng", T0 - 100 * USEC_PER_SEC, exp);
    g.state = GrantState::Active;
    reg.insert(std::move(g), T0);
    assert_int_equal(*reg.next_deadline(), exp - 60 * USEC_PER_SEC);
}

void test_prune_forgets_old_ended_grants_but_not_revocations(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("a", "eng", T0, T0 + 10 * USEC_PER_SEC), T0);
    reg.advance(T0);
    reg.revoke("a", T0 + 1);
    reg.prune(T0 + 100 * USEC_PER_SEC, 10 * USEC_PER_SEC);
    assert_null(reg.find("a"));
    assert_true(reg.is_revoked("a"));
}

void test_prune_keeps_recent_and_live_grants(void**) {
    GrantRegistry reg(policy());
    reg.insert(make("old", "eng", T0, T0 + 10 * USEC_PER_SEC), T0);
    reg.insert(make("recent", "eng2", T0, T0 + 95 * USEC_PER_SEC), T0);
    reg.insert(make("live", "eng3", T0, T0 + 500 * USEC_PER_SEC), T0);
    reg.advance(T0 + 96 * USEC_PER_SEC);  // old and recent complete
    reg.prune(T0 + 100 * USEC_PER_SEC, 10 * USEC_PER_SEC);
    assert_null(reg.find("old"));
    assert_non_null(reg.find("recent"));
    assert_non_null(reg.find("live"));
    assert_int_equal(reg.grants_of("eng").size(), 0);
    reg.prune(T0 + 106 * USEC_PER_SEC, 10 * USEC_PER_SEC);
    assert_null(reg.find("recent"));
    assert_non_null(reg.find("live"));
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_user_has_no_grant),
        cmocka_unit_test(test_grant_activates_at_nbf_minus_skew_and_allows),
        cmocka_unit_test(test_access_denied_at_exp_even_before_timer_fires),
        cmocka_unit_test(test_completion_at_exp_reports_was_active),
        cmocka_unit_test(test_warnings_come_in_order_before_exp),
        cmocka_unit_test(test_clock_jump_forward_past_window_completes_without_activation),
        cmocka_unit_test(test_clock_jump_forward_during_window_skips_to_completion),
        cmocka_unit_test(test_clock_jump_backward_keeps_deadline_absolute),
        cmocka_unit_test(test_revoked_grant_denies_and_never_comes_back),
        cmocka_unit_test(test_revoking_unknown_id_blocks_later_insert),
        cmocka_unit_test(test_latest_grant_decides_denial_reason),
        cmocka_unit_test(test_overlapping_grants_keep_access_until_last_exp),
        cmocka_unit_test(test_no_warning_when_another_grant_carries_access_past_the_end),
        cmocka_unit_test(test_changes_name_only_what_changed),
        cmocka_unit_test(test_persisted_form_copies_the_claims_it_needs),
        cmocka_unit_test(test_active_on_reload_skips_past_warnings),
        cmocka_unit_test(test_prune_forgets_old_ended_grants_but_not_revocations),
        cmocka_unit_test(test_prune_keeps_recent_and_live_grants),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

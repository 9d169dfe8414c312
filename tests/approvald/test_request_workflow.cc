// The request state machine: every legal transition, every illegal one refused
// with the right code and the input untouched, separation of duties, shortening
// only, and pending expiry with a fixed clock.
#include <algorithm>

#include "approvald_test.h"
#include "../errc_assert.h"

using namespace approvald_test;

namespace {

Request filed_by_eve() {
    auto r = create_request(new_request(), eve(), ID, policy(), T0);
    assert_true(r.ok());
    return *r;
}

Request at_pending_approver() {
    auto r = approve_request(filed_by_eve(), alice(), 0, "ok", policy(), T0 + 60 * USEC_PER_SEC);
    assert_true(r.ok());
    return *r;
}

Request approved() {
    auto r = approve_request(at_pending_approver(), bob(), 0, "", policy(), T0 + 120 * USEC_PER_SEC);
    assert_true(r.ok());
    return *r;
}

Request in_state(RequestState s) {
    Request r = filed_by_eve();
    switch (s) {
    case RequestState::PendingManager:
        return r;
    case RequestState::PendingApprover:
        return at_pending_approver();
    case RequestState::Approved:
        return approved();
    case RequestState::Denied:
        return *deny_request(r, alice(), "no", policy(), T0 + 1);
    case RequestState::Cancelled:
        return *cancel_request(r, eve(), T0 + 1);
    case RequestState::Revoked:
        return *revoke_grant(approved(), bob(), "done", policy(), T0 + 200 * USEC_PER_SEC);
    case RequestState::Expired:
        return *expire_if_due(r, T0 + 12 * HOUR);
    default:
        fail_msg("state %s is not stored", state_name(s));
        return r;
    }
}

void assert_code(const Result<Request>& r, lockbox::Errc code) {
    assert_false(r.ok());
    assert_errc(r.error().code, code);
}

void test_create_by_engineer_for_self_is_pending_manager(void**) {
    Request r = filed_by_eve();
    assert_int_equal(static_cast<int>(r.state), static_cast<int>(RequestState::PendingManager));
    assert_string_equal(r.engineer.c_str(), "eve");
    assert_string_equal(r.created_by.c_str(), "eve");
    assert_true(r.pending_until == T0 + 12 * HOUR);
    assert_true(r.duration == 2 * HOUR);
}

WorkflowPolicy levels_policy() {
    WorkflowPolicy p = policy();
    p.access_levels = {"user", "dbadmin", "admin"};
    return p;
}

// A request carries the level asked for, else the least privileged; a level
// the service does not list is refused, naming the ones it does.
void test_create_sets_the_access_level_and_refuses_unknown_ones(void**) {
    auto plain = create_request(new_request(), eve(), ID, levels_policy(), T0);
    assert_true(plain.ok());
    assert_string_equal(plain->access.c_str(), "user");
    NewRequest n = new_request();
    n.access = "admin";
    auto admin = create_request(n, eve(), ID, levels_policy(), T0);
    assert_true(admin.ok());
    assert_string_equal(admin->access.c_str(), "admin");
    assert_string_equal(admin->requested_access.c_str(), "admin");
    n.access = "root";
    auto unknown = create_request(n, eve(), ID, levels_policy(), T0);
    assert_code(unknown, lockbox::Errc::InvalidArgument);
    assert_non_null(strstr(unknown.error().message.c_str(), "user, dbadmin, admin"));
}

// Either stage may lower the level; nobody may raise it, nor name an unknown one.
void test_approval_may_lower_the_access_level_never_raise_it(void**) {
    NewRequest n = new_request();
    n.access = "dbadmin";
    auto r = create_request(n, eve(), ID, levels_policy(), T0);
    assert_true(r.ok());
    assert_code(approve_request(*r, alice(), 0, "", levels_policy(), T0 + 1, "admin"), lockbox::Errc::InvalidArgument);
    assert_code(approve_request(*r, alice(), 0, "", levels_policy(), T0 + 1, "root"), lockbox::Errc::InvalidArgument);
    auto same = approve_request(*r, alice(), 0, "", levels_policy(), T0 + 1, "dbadmin");
    assert_true(same.ok());
    auto m = approve_request(*r, alice(), 0, "", levels_policy(), T0 + 1);
    assert_true(m.ok());
    assert_string_equal(m->access.c_str(), "dbadmin");
    auto lowered = approve_request(*m, bob(), 0, "", levels_policy(), T0 + 2, "user");
    assert_true(lowered.ok());
    assert_string_equal(lowered->access.c_str(), "user");
    assert_string_equal(lowered->requested_access.c_str(), "dbadmin");
    assert_int_equal(static_cast<int>(lowered->state), static_cast<int>(RequestState::Approved));
    // A request filed before levels (no level) stands at the least privileged one.
    Request old = *m;
    old.access.clear();
    assert_code(approve_request(old, bob(), 0, "", levels_policy(), T0 + 2, "dbadmin"), lockbox::Errc::InvalidArgument);
    assert_true(approve_request(old, bob(), 0, "", levels_policy(), T0 + 2, "user").ok());
}

void test_create_for_another_engineer_needs_manager(void**) {
    NewRequest n = new_request();
    n.engineer = "mallory";
    assert_code(create_request(n, eve(), ID, policy(), T0), lockbox::Errc::AccessDenied);
    auto r = create_request(n, alice(), ID, policy(), T0);
    assert_true(r.ok());
    assert_string_equal(r->engineer.c_str(), "mallory");
    assert_string_equal(r->created_by.c_str(), "alice");
    assert_true(create_request(n, root(), ID, policy(), T0).ok());
}

void test_create_without_role_is_refused_naming_the_role(void**) {
    auto r = create_request(new_request(), nobody(), ID, policy(), T0);
    assert_code(r, lockbox::Errc::AccessDenied);
    assert_non_null(strstr(r.error().message.c_str(), "lockbox-engineers"));
    assert_code(create_request(new_request(), bob(), ID, policy(), T0), lockbox::Errc::AccessDenied);
}

void test_manager_approval_moves_to_pending_approver(void**) {
    Request r = at_pending_approver();
    assert_int_equal(static_cast<int>(r.state), static_cast<int>(RequestState::PendingApprover));
    assert_true(r.manager.has_value());
    assert_string_equal(r.manager->approval.user.c_str(), "alice");
    assert_string_equal(r.manager->approval.role.c_str(), "manager");
    assert_string_equal(r.manager->comment.c_str(), "ok");
}

void test_approver_approval_sets_window_from_approval_time(void**) {
    Request r = approved();
    assert_int_equal(static_cast<int>(r.state), static_cast<int>(RequestState::Approved));
    assert_true(r.nbf == T0 + 120 * USEC_PER_SEC);
    assert_true(r.exp == r.nbf + 2 * HOUR);
    assert_string_equal(r.approver->approval.user.c_str(), "bob");
}

void test_approve_at_pending_manager_needs_manager(void**) {
    Request r = filed_by_eve();
    auto res = approve_request(r, bob(), 0, "", policy(), T0);
    assert_code(res, lockbox::Errc::AccessDenied);
    assert_non_null(strstr(res.error().message.c_str(), "lockbox-managers"));
    assert_code(approve_request(r, mallory(), 0, "", policy(), T0), lockbox::Errc::AccessDenied);
    assert_code(approve_request(r, nobody(), 0, "", policy(), T0), lockbox::Errc::AccessDenied);
}

void test_approve_at_pending_approver_needs_approver(void**) {
    Request r = at_pending_approver();
    auto res = approve_request(r, alice(), 0, "", policy(), T0);
    assert_code(res, lockbox::Errc::AccessDenied);
    assert_non_null(strstr(res.error().message.c_str(), "lockbox-approvers"));
}

void test_root_may_approve_both_stages(void**) {
    NewRequest n = new_request();
    auto r = create_request(n, eve(), ID, policy(), T0);
    auto m = approve_request(*r, root(), 0, "", policy(), T0);
    assert_true(m.ok());
    // root approved the manager stage, so the approver stage needs someone else.
    assert_code(approve_request(*m, root(), 0, "", policy(), T0), lockbox::Errc::SeparationOfDuties);
    assert_true(approve_request(*m, bob(), 0, "", policy(), T0).ok());
}

void test_creator_may_not_approve(void**) {
    NewRequest n = new_request();
    n.engineer = "eve";
    auto r = create_request(n, carol(), ID, policy(), T0);  // carol files for eve
    assert_code(approve_request(*r, carol(), 0, "", policy(), T0), lockbox::Errc::SeparationOfDuties);
}

void test_engineer_may_not_approve_own_request(void**) {
    Actor eve_manager = actor("eve", true, true, true);
    NewRequest n = new_request();
    n.engineer = "eve";
    auto r = create_request(n, alice(), ID, policy(), T0);
    assert_code(approve_request(*r, eve_manager, 0, "", policy(), T0), lockbox::Errc::SeparationOfDuties);
}

void test_manager_and_approver_must_be_different_people(void**) {
    auto m = approve_request(filed_by_eve(), carol(), 0, "", policy(), T0);
    assert_true(m.ok());
    auto res = approve_request(*m, carol(), 0, "", policy(), T0);
    assert_code(res, lockbox::Errc::SeparationOfDuties);
    assert_int_equal(static_cast<int>(m->state), static_cast<int>(RequestState::PendingApprover));
}

void test_approver_may_shorten(void**) {
    auto r = approve_request(at_pending_approver(), bob(), 3600, "", policy(), T0);
    assert_true(r.ok());
    assert_true(r->duration == HOUR);
    assert_true(r->requested_duration == 2 * HOUR);
    assert_true(r->exp - r->nbf == HOUR);
}

void test_approver_may_not_lengthen(void**) {
    assert_code(approve_request(at_pending_approver(), bob(), 3 * 3600, "", policy(), T0),
                lockbox::Errc::InvalidArgument);
}

void test_manager_shortening_binds_the_approver(void**) {
    auto m = approve_request(filed_by_eve(), alice(), 1800, "", policy(), T0);
    assert_true(m.ok());
    assert_code(approve_request(*m, bob(), 3600, "", policy(), T0), lockbox::Errc::InvalidArgument);
    auto a = approve_request(*m, bob(), 0, "", policy(), T0);
    assert_true(a->exp - a->nbf == 1800 * USEC_PER_SEC);
}

void test_deny_at_each_pending_stage(void**) {
    auto d1 = deny_request(filed_by_eve(), alice(), "not now", policy(), T0);
    assert_true(d1.ok());
    assert_int_equal(static_cast<int>(d1->state), static_cast<int>(RequestState::Denied));
    assert_string_equal(d1->closed_by.c_str(), "alice");
    assert_string_equal(d1->close_reason.c_str(), "not now");
    assert_code(deny_request(filed_by_eve(), bob(), "x", policy(), T0), lockbox::Errc::AccessDenied);
    auto d2 = deny_request(at_pending_approver(), bob(), "no", policy(), T0);
    assert_true(d2.ok());
    assert_code(deny_request(at_pending_approver(), alice(), "x", policy(), T0), lockbox::Errc::AccessDenied);
    assert_true(deny_request(at_pending_approver(), root(), "x", policy(), T0).ok());
}

void test_cancel_by_creator_engineer_or_root_while_pending(void**) {
    assert_true(cancel_request(filed_by_eve(), eve(), T0).ok());
    assert_true(cancel_request(at_pending_approver(), eve(), T0).ok());
    assert_true(cancel_request(filed_by_eve(), root(), T0).ok());
    assert_code(cancel_request(filed_by_eve(), mallory(), T0), lockbox::Errc::AccessDenied);
    assert_code(cancel_request(filed_by_eve(), alice(), T0), lockbox::Errc::AccessDenied);
    NewRequest n = new_request();
    n.engineer = "eve";
    auto by_alice = create_request(n, alice(), ID, policy(), T0);
    assert_true(cancel_request(*by_alice, alice(), T0).ok());
    assert_true(cancel_request(*by_alice, eve(), T0).ok());
}

void test_revoke_by_approver_while_approved_or_active(void**) {
    Request a = approved();
    auto r = revoke_grant(a, bob(), "incident over", policy(), a.nbf - 1);
    assert_true(r.ok());
    assert_int_equal(static_cast<int>(r->state), static_cast<int>(RequestState::Revoked));
    assert_true(revoke_grant(a, carol(), "x", policy(), a.nbf + HOUR).ok());  // active
    assert_code(revoke_grant(a, alice(), "x", policy(), a.nbf), lockbox::Errc::AccessDenied);
    assert_code(revoke_grant(a, eve(), "x", policy(), a.nbf), lockbox::Errc::AccessDenied);
    assert_code(revoke_grant(a, bob(), "x", policy(), a.exp), lockbox::Errc::InvalidState);  // completed
}

// request create --start: the window starts where asked, even when approved
// late; the pending deadline still counts from filing.
void test_a_later_start_is_the_grants_nbf(void**) {
    NewRequest n = new_request();
    const usec_t start = T0 + 3 * 24 * HOUR;
    n.start_usec = static_cast<uint64_t>(start);
    auto r = create_request(n, eve(), ID, policy(), T0);
    assert_true(r.ok());
    assert_true(r->nbf == start);
    assert_true(r->pending_until == T0 + 12 * HOUR);
    auto mid = approve_request(*r, alice(), 0, "", policy(), T0 + HOUR);
    assert_true(mid.ok());
    auto a = approve_request(*mid, bob(), HOUR / USEC_PER_SEC, "", policy(), T0 + 2 * HOUR);
    assert_true(a.ok());
    assert_true(a->nbf == start && a->exp == start + HOUR);
    assert_int_equal(static_cast<int>(effective_state(*a, start - 1)), static_cast<int>(RequestState::Approved));
    assert_int_equal(static_cast<int>(effective_state(*a, start)), static_cast<int>(RequestState::Active));
    // Still pending past the deadline counted from filing: expired.
    assert_true(expire_if_due(*mid, T0 + 12 * HOUR).has_value());
}

void test_a_start_in_the_past_or_over_a_week_ahead_is_refused(void**) {
    for (usec_t start : {T0, T0 - 1, T0 + 7 * 24 * HOUR + 1}) {
        NewRequest n = new_request();
        n.start_usec = static_cast<uint64_t>(start);
        auto r = create_request(n, eve(), ID, policy(), T0);
        assert_code(r, lockbox::Errc::InvalidArgument);
        assert_non_null(strstr(r.error().message.c_str(), "start"));
    }
    NewRequest week = new_request();
    week.start_usec = static_cast<uint64_t>(T0 + 7 * 24 * HOUR);
    assert_true(create_request(week, eve(), ID, policy(), T0).ok());
}

void test_approving_after_the_requested_window_ended_is_refused(void**) {
    NewRequest n = new_request();  // 2 h
    n.start_usec = static_cast<uint64_t>(T0 + HOUR);
    auto r = create_request(n, eve(), ID, policy(), T0);
    auto mid = approve_request(*r, alice(), 0, "", policy(), T0 + 1);
    assert_code(approve_request(*mid, bob(), 0, "", policy(), T0 + 3 * HOUR), lockbox::Errc::InvalidState);
    auto late = approve_request(*mid, bob(), 0, "", policy(), T0 + 2 * HOUR);  // inside it: what is left
    assert_true(late.ok());
    assert_true(late->nbf == T0 + HOUR && late->exp == T0 + 3 * HOUR);
}

// "I'm done": the grant's own engineer and managers (and root); not another
// engineer, not an approver who is neither, not after the window.
void test_release_by_its_engineer_or_a_manager_while_approved_or_active(void**) {
    Request a = approved();
    auto r = release_grant(a, eve(), policy(), a.nbf + HOUR);  // active, its engineer
    assert_true(r.ok());
    assert_int_equal(static_cast<int>(r->state), static_cast<int>(RequestState::Released));
    assert_string_equal(r->closed_by.c_str(), "eve");
    assert_true(r->closed_at == a.nbf + HOUR);
    assert_true(release_grant(a, alice(), policy(), a.nbf - 1).ok());  // approved, a manager
    assert_true(release_grant(a, root(), policy(), a.nbf).ok());
    assert_code(release_grant(a, mallory(), policy(), a.nbf), lockbox::Errc::AccessDenied);
    assert_code(release_grant(a, bob(), policy(), a.nbf), lockbox::Errc::AccessDenied);
    assert_code(release_grant(a, nobody(), policy(), a.nbf), lockbox::Errc::AccessDenied);
    assert_code(release_grant(a, eve(), policy(), a.exp), lockbox::Errc::InvalidState);  // completed
    assert_code(release_grant(filed_by_eve(), eve(), policy(), T0 + 1), lockbox::Errc::InvalidState);
    assert_code(release_grant(*r, eve(), policy(), a.nbf + HOUR + 1), lockbox::Errc::InvalidState);  // twice
    assert_int_equal(static_cast<int>(a.state), static_cast<int>(RequestState::Approved));
}

// Every stored state × every action: only the legal pairs succeed, the rest say
// invalid-state and name the current state.
void test_illegal_transitions_name_the_current_state(void**) {
    struct Case {
        RequestState state;
        bool approve, deny, cancel, revoke;
    };
    const Case cases[] = {
        {RequestState::PendingManager, true, true, true, false},
        {RequestState::PendingApprover, true, true, true, false},
        {RequestState::Approved, false, false, false, true},
        {RequestState::Denied, false, false, false, false},
        {RequestState::Cancelled, false, false, false, false},
        {RequestState::Revoked, false, false, false, false},
        {RequestState::Expired, false, false, false, false},
    };
    const Actor r00t = root();
    const Actor approver = bob();
    for (const auto& c : cases) {
        Request r = in_state(c.state);
        const usec_t now = r.updated_at + 1;  // before any window opened or expired
        const std::string name = state_name(effective_state(r, now));
        Actor actor_for_approve = c.state == RequestState::PendingApprover ? approver : r00t;
        auto checks = {
            std::pair{c.approve, approve_request(r, actor_for_approve, 0, "", policy(), now)},
            std::pair{c.deny, deny_request(r, r00t, "x", policy(), now)},
            std::pair{c.cancel, cancel_request(r, r00t, now)},
            std::pair{c.revoke, revoke_grant(r, r00t, "x", policy(), now)},
        };
        for (const auto& [legal, res] : checks) {
            if (legal) {
                assert_true(res.ok());
            } else {
                assert_false(res.ok());
                assert_errc(res.error().code, lockbox::Errc::InvalidState);
                assert_non_null(strstr(res.error().message.c_str(), name.c_str()));
            }
        }
        // The input is a value: untouched whatever happened.
        assert_int_equal(static_cast<int>(r.state), static_cast<int>(c.state));
    }
}

void test_approved_becomes_active_then_completed_by_the_clock(void**) {
    Request a = approved();
    assert_int_equal(static_cast<int>(effective_state(a, a.nbf - 1)), static_cast<int>(RequestState::Approved));
    assert_int_equal(static_cast<int>(effective_state(a, a.nbf)), static_cast<int>(RequestState::Active));
    assert_int_equal(static_cast<int>(effective_state(a, a.exp - 1)), static_cast<int>(RequestState::Active));
    assert_int_equal(static_cast<int>(effective_state(a, a.exp)), static_cast<int>(RequestState::Completed));
}

void test_pending_request_expires_at_the_deadline_with_a_fake_clock(void**) {
    FakeClock clock(T0);
    Request r = filed_by_eve();
    clock.advance(12 * HOUR - 1);
    assert_false(expire_if_due(r, clock.now()).has_value());
    assert_int_equal(static_cast<int>(effective_state(r, clock.now())), static_cast<int>(RequestState::PendingManager));
    clock.advance(1);
    auto e = expire_if_due(r, clock.now());
    assert_true(e.has_value());
    assert_int_equal(static_cast<int>(e->state), static_cast<int>(RequestState::Expired));
    assert_string_equal(e->closed_by.c_str(), "lockbox-approvald");
    // An approval arriving after the deadline but before the sweep is refused.
    assert_code(approve_request(r, alice(), 0, "", policy(), clock.now()), lockbox::Errc::InvalidState);
}

void test_pending_approver_also_expires(void**) {
    Request r = at_pending_approver();
    assert_true(expire_if_due(r, T0 + 12 * HOUR).has_value());
    assert_false(expire_if_due(approved(), T0 + 48 * HOUR).has_value());
}

void test_custom_pending_timeout(void**) {
    WorkflowPolicy p = policy();
    p.pending_timeout = 5 * USEC_PER_SEC;
    auto r = create_request(new_request(), eve(), ID, p, T0);
    assert_true(r->pending_until == T0 + 5 * USEC_PER_SEC);
}

void test_readers(void**) {
    Request r = filed_by_eve();
    assert_true(may_read(r, eve()));
    assert_false(may_read(r, mallory()));
    assert_true(may_read(r, alice()));
    assert_true(may_read(r, bob()));
    assert_true(may_read(r, root()));
    assert_false(may_read(r, nobody()));
    assert_true(authorize_read(r, eve()).ok());
    assert_false(authorize_read(r, mallory()).ok());
    assert_errc(authorize_read(r, mallory()).error().code, Errc::AccessDenied);
}

void assert_refused(const Status& s, Errc code) {
    assert_false(s.ok());
    assert_errc(s.error().code, code);
}

void test_export_gives_the_token_to_readers_of_a_valid_grant(void**) {
    Request r = approved();
    r.token = "v4.public.token";
    const usec_t now = T0 + 130 * USEC_PER_SEC;
    auto own = export_grant(r, eve(), now);
    assert_true(own.ok());
    assert_string_equal(own->c_str(), "v4.public.token");
    assert_true(export_grant(r, alice(), now).ok());
    auto other = export_grant(r, mallory(), now);
    assert_false(other.ok());
    assert_errc(other.error().code, Errc::AccessDenied);
    assert_string_equal(other.error().message.c_str(), "access denied: engineers may export only their own grants");
    auto pending = export_grant(filed_by_eve(), eve(), now);
    assert_false(pending.ok());
    assert_errc(pending.error().code, Errc::InvalidState);
}

void test_role_gate_refuses_callers_without_any_fitting_role(void**) {
    const WorkflowPolicy p = policy();
    for (Operation op : {Operation::Approve, Operation::Deny, Operation::Cancel, Operation::Read, Operation::Export,
                         Operation::Revoke, Operation::Release, Operation::HostGrants, Operation::Create}) {
        assert_refused(authorize(op, nobody(), p), Errc::AccessDenied);
        assert_true(authorize(op, root(), p).ok());
    }
    assert_true(authorize(Operation::Approve, alice(), p).ok());
    assert_true(authorize(Operation::Approve, bob(), p).ok());
    assert_refused(authorize(Operation::Approve, eve(), p), Errc::AccessDenied);
    assert_refused(authorize(Operation::Deny, eve(), p), Errc::AccessDenied);
    assert_true(authorize(Operation::Cancel, eve(), p).ok());
    assert_true(authorize(Operation::Read, eve(), p).ok());
    assert_true(authorize(Operation::Export, eve(), p).ok());
    assert_refused(authorize(Operation::Revoke, alice(), p), Errc::AccessDenied);
    assert_true(authorize(Operation::Revoke, bob(), p).ok());
    assert_true(authorize(Operation::Release, eve(), p).ok());
    assert_true(authorize(Operation::Release, alice(), p).ok());
    assert_refused(authorize(Operation::Release, bob(), p), Errc::AccessDenied);
    Actor logged_in_through_lockbox = actor("eve", false, false, false);
    logged_in_through_lockbox.lockbox_account = true;
    assert_true(authorize(Operation::Release, logged_in_through_lockbox, p).ok());
    assert_refused(authorize(Operation::Read, logged_in_through_lockbox, p), Errc::AccessDenied);
    assert_true(release_grant(approved(), logged_in_through_lockbox, p, T0 + HOUR).ok());
    logged_in_through_lockbox.name = "mallory";
    assert_code(release_grant(approved(), logged_in_through_lockbox, p, T0 + HOUR), Errc::AccessDenied);
    assert_refused(authorize(Operation::HostGrants, carol(), p), Errc::AccessDenied);
    assert_true(authorize(Operation::HostGrants, root(), p).ok());
    // The message names the roles (and groups) that would do.
    assert_string_equal(authorize(Operation::Approve, eve(), p).error().message.c_str(),
                        "access denied: approving needs the manager role (group lockbox-managers) or the approver "
                        "role (group lockbox-approvers)");
}

}  // namespace

// The store narrows a state-filtered page by stored_states_shown_as: every
// request that reads as a state, at any time, must be in a stored state it names.
void test_stored_states_cover_every_request_shown_in_a_state(void**) {
    const RequestState every[] = {RequestState::PendingManager, RequestState::PendingApprover, RequestState::Approved,
                                  RequestState::Active,         RequestState::Denied,          RequestState::Expired,
                                  RequestState::Cancelled,      RequestState::Revoked,         RequestState::Released,
                                  RequestState::Completed};
    for (RequestState stored : every) {
        Request r;
        r.state = stored;
        r.pending_until = T0 + HOUR;
        r.nbf = T0 + 2 * HOUR;
        r.exp = T0 + 3 * HOUR;
        for (usec_t now : {T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR}) {
            const auto shown = stored_states_shown_as(effective_state(r, now));
            if (std::find(shown.begin(), shown.end(), stored) == shown.end())
                fail_msg("a request stored as %s reads as %s, whose stored states leave it out", state_name(stored),
                         state_name(effective_state(r, now)));
        }
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_by_engineer_for_self_is_pending_manager),
        cmocka_unit_test(test_create_for_another_engineer_needs_manager),
        cmocka_unit_test(test_create_without_role_is_refused_naming_the_role),
        cmocka_unit_test(test_manager_approval_moves_to_pending_approver),
        cmocka_unit_test(test_approver_approval_sets_window_from_approval_time),
        cmocka_unit_test(test_approve_at_pending_manager_needs_manager),
        cmocka_unit_test(test_approve_at_pending_approver_needs_approver),
        cmocka_unit_test(test_root_may_approve_both_stages),
        cmocka_unit_test(test_creator_may_not_approve),
        cmocka_unit_test(test_engineer_may_not_approve_own_request),
        cmocka_unit_test(test_manager_and_approver_must_be_different_people),
        cmocka_unit_test(test_approver_may_shorten),
        cmocka_unit_test(test_approver_may_not_lengthen),
        cmocka_unit_test(test_manager_shortening_binds_the_approver),
        cmocka_unit_test(test_deny_at_each_pending_stage),
        cmocka_unit_test(test_cancel_by_creator_engineer_or_root_while_pending),
        cmocka_unit_test(test_revoke_by_approver_while_approved_or_active),
        cmocka_unit_test(test_illegal_transitions_name_the_current_state),
        cmocka_unit_test(test_approved_becomes_active_then_completed_by_the_clock),
        cmocka_unit_test(test_pending_request_expires_at_the_deadline_with_a_fake_clock),
        cmocka_unit_test(test_pending_approver_also_expires),
        cmocka_unit_test(test_custom_pending_timeout),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_create_sets_the_access_level_and_refuses_unknown_ones),
        cmocka_unit_test(test_approval_may_lower_the_access_level_never_raise_it),
        cmocka_unit_test(test_export_gives_the_token_to_readers_of_a_valid_grant),
        cmocka_unit_test(test_role_gate_refuses_callers_without_any_fitting_role),
        cmocka_unit_test(test_release_by_its_engineer_or_a_manager_while_approved_or_active),
        cmocka_unit_test(test_a_later_start_is_the_grants_nbf),
        cmocka_unit_test(test_a_start_in_the_past_or_over_a_week_ahead_is_refused),
        cmocka_unit_test(test_approving_after_the_requested_window_ended_is_refused),
        cmocka_unit_test(test_stored_states_cover_every_request_shown_in_a_state),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

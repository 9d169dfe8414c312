#include "request_workflow.h"

#include "time_format.h"
#include "access_level.h"
#include "printable_text.h"

namespace lockbox::approval {

namespace {

Error access_denied(const std::string& what, const std::string& role) {
    return make_error(Errc::AccessDenied, "access denied: " + what + " needs " + role);
}

Error invalid_state(const Request& r, usec_t now, const std::string& what) {
    return make_error(Errc::InvalidState,
                      "request " + r.id + " is " + state_name(effective_state(r, now)) + "; cannot " + what);
}

Error separation(const std::string& message) {
    return make_error(Errc::SeparationOfDuties, "separation of duties: " + message);
}

std::string role(const char* name, const std::string& group) {
    return std::string("the ") + name + " role (group " + group + ")";
}

bool involved(const Request& r, const Actor& a) { return a.name == r.created_by || a.name == r.engineer; }

Error unknown_level(const std::string& level, const WorkflowPolicy& policy) {
    std::string known;
    for (const auto& l : policy.access_levels)
        known += (known.empty() ? "" : ", ") + l;
    return make_error(Errc::InvalidArgument,
                      "access: '" + printable(level, 64) + "' is not an access level of this service (" + known + ")");
}

const char* const ANY_READER_ROLE = "the engineer, manager or approver role";

}  // namespace

Status authorize(Operation op, const Actor& actor, const WorkflowPolicy& policy) {
    const std::string engineer = role("engineer", policy.engineer_group);
    const std::string manager = role("manager", policy.manager_group);
    const std::string approver = role("approver", policy.approver_group);
    switch (op) {
    case Operation::Create:
        if (!(actor.root || actor.manager || actor.engineer))
            return access_denied("creating a request", engineer + " or " + manager);
        return {};
    case Operation::Approve:
        if (!(actor.root || actor.manager || actor.approver))
            return access_denied("approving", manager + " or " + approver);
        return {};
    case Operation::Deny:
        if (!(actor.root || actor.manager || actor.approver))
            return access_denied("denying", manager + " or " + approver);
        return {};
    case Operation::Cancel:
        // Any reader may try; cancel_request then allows only the request's own people.
        if (!actor.may_read())
            return access_denied("cancelling", engineer + " or " + manager);
        return {};
    case Operation::Read:
        if (!actor.may_read())
            return access_denied("reading requests", ANY_READER_ROLE);
        return {};
    case Operation::Export:
        if (!actor.may_read())
            return access_denied("exporting grants", ANY_READER_ROLE);
        return {};
    case Operation::Revoke:
        if (!(actor.root || actor.approver))
            return access_denied("revoking a grant", approver);
        return {};
    case Operation::Release:
        // Engineers may try, also from inside their Lockbox session (a
        // lockbox account has no role group); release_grant then allows
        // only the grant's own.
        if (!(actor.root || actor.manager || actor.engineer || actor.lockbox_account))
            return access_denied("releasing a grant", engineer + " or " + manager);
        return {};
    case Operation::HostGrants:
        if (!actor.root)
            return make_error(Errc::AccessDenied, "access denied: GetHostGrants is for root (lockboxd) only");
        return {};
    }
    return make_error(Errc::AccessDenied, "access denied: unknown operation");
}

Result<Request> create_request(const NewRequest& in, const Actor& actor, const std::string& id,
                               const WorkflowPolicy& policy, usec_t now) {
    std::string engineer = in.engineer.empty() ? actor.name : in.engineer;
    if (auto s = authorize(Operation::Create, actor, policy); !s)
        return s.error();
    if (engineer != actor.name && !(actor.root || actor.manager))
        return access_denied("creating a request for another engineer", role("manager", policy.manager_group));
    if (static_cast<usec_t>(in.duration_sec) > policy.max_grant / USEC_PER_SEC)
        return make_error(Errc::InvalidArgument, "duration: exceeds the maximum grant");
    const usec_t start = static_cast<usec_t>(in.start_usec);
    if (in.start_usec != 0 && (start <= now || start - now > MAX_START_AHEAD))
        return make_error(Errc::InvalidArgument, "start: must lie in the future, at most " +
                                                     std::to_string(MAX_START_AHEAD / (24 * 3600 * USEC_PER_SEC)) +
                                                     " days ahead");
    const std::string access = effective_access_level(policy.access_levels, in.access);
    if (!access_level_rank(policy.access_levels, access))
        return unknown_level(access, policy);

    Request r;
    r.id = id;
    r.state = RequestState::PendingManager;
    r.tenant = in.tenant;
    r.ticket = in.ticket;
    r.engineer = engineer;
    r.hosts = in.hosts;
    r.ssh_keys = in.ssh_keys;
    r.reason = in.reason;
    r.requested_duration = static_cast<usec_t>(in.duration_sec) * USEC_PER_SEC;
    r.duration = r.requested_duration;
    r.requested_access = access;
    r.access = access;
    r.created_by = actor.name;
    r.created_at = now;
    r.pending_until = now + policy.pending_timeout;
    r.nbf = in.start_usec != 0 ? start : 0;
    r.updated_at = now;
    return r;
}

Result<Request> approve_request(const Request& r, const Actor& actor, uint64_t duration_sec, const std::string& comment,
                                const WorkflowPolicy& policy, usec_t now, const std::string& access) {
    const RequestState state = effective_state(r, now);
    const bool manager_stage = state == RequestState::PendingManager;
    if (!manager_stage && state != RequestState::PendingApprover)
        return invalid_state(r, now, "approve");
    if (manager_stage && !(actor.root || actor.manager))
        return access_denied("approving at pending-manager", role("manager", policy.manager_group));
    if (!manager_stage && !(actor.root || actor.approver))
        return access_denied("approving at pending-approver", role("approver", policy.approver_group));
    if (actor.name == r.created_by)
        return separation(actor.name + " created request " + r.id + " and cannot approve it");
    if (actor.name == r.engineer)
        return separation(actor.name + " is the engineer of request " + r.id + " and cannot approve it");
    if (!manager_stage && r.manager && r.manager->approval.user == actor.name)
        return separation(actor.name + " already approved request " + r.id +
                          " as manager; the approver must be someone else");

    Request next = r;
    if (duration_sec != 0) {
        const usec_t d = static_cast<usec_t>(duration_sec) * USEC_PER_SEC;
        if (d > r.duration || duration_sec > static_cast<uint64_t>(policy.max_grant / USEC_PER_SEC))
            return make_error(Errc::InvalidArgument, "duration: an approval may only shorten the window (currently " +
                                                         std::to_string(r.duration / USEC_PER_SEC) + " s)");
        next.duration = d;
    }
    if (!access.empty()) {
        auto wanted = access_level_rank(policy.access_levels, access);
        if (!wanted)
            return unknown_level(access, policy);
        // A request from before levels (empty) stands at the least privileged one.
        auto current = access_level_rank(policy.access_levels, effective_access_level(policy.access_levels, r.access));
        if (!current || *wanted > *current)
            return make_error(Errc::InvalidArgument, "access: an approval may only lower the level (currently " +
                                                         effective_access_level(policy.access_levels, r.access) +
                                                         "), never raise it");
        next.access = access;
    }
    StageApproval stage{{manager_stage ? "manager" : "approver", actor.name, now}, comment};
    if (manager_stage) {
        next.manager = stage;
        next.state = RequestState::PendingApprover;
    } else {
        next.approver = stage;
        next.state = RequestState::Approved;
        // A later start is the window the customer is asked to approve: it
        // stays where it was asked, even when approved late.
        next.nbf = r.nbf != 0 ? r.nbf : now;
        next.exp = next.nbf + next.duration;
        if (next.exp <= now)
            return make_error(Errc::InvalidState, "request " + r.id + " asked for a window that ended at " +
                                                      format_rfc3339(next.exp) + "; cannot approve");
    }
    next.updated_at = now;
    return next;
}

Result<Request> deny_request(const Request& r, const Actor& actor, const std::string& reason,
                             const WorkflowPolicy& policy, usec_t now) {
    const RequestState state = effective_state(r, now);
    if (state == RequestState::PendingManager && !(actor.root || actor.manager))
        return access_denied("denying at pending-manager", role("manager", policy.manager_group));
    if (state == RequestState::PendingApprover && !(actor.root || actor.approver))
        return access_denied("denying at pending-approver", role("approver", policy.approver_group));
    if (!is_pending(state))
        return invalid_state(r, now, "deny");
    Request next = r;
    next.state = RequestState::Denied;
    next.closed_by = actor.name;
    next.closed_at = now;
    next.close_reason = reason;
    next.updated_at = now;
    return next;
}

Result<Request> cancel_request(const Request& r, const Actor& actor, usec_t now) {
    if (!(actor.root || involved(r, actor)))
        return access_denied("cancelling request " + r.id, "its creator, its engineer or root");
    if (!is_pending(effective_state(r, now)))
        return invalid_state(r, now, "cancel");
    Request next = r;
    next.state = RequestState::Cancelled;
    next.closed_by = actor.name;
    next.closed_at = now;
    next.updated_at = now;
    return next;
}

Result<Request> revoke_grant(const Request& r, const Actor& actor, const std::string& reason,
                             const WorkflowPolicy& policy, usec_t now) {
    if (auto s = authorize(Operation::Revoke, actor, policy); !s)
        return s.error();
    const RequestState state = effective_state(r, now);
    if (state != RequestState::Approved && state != RequestState::Active)
        return invalid_state(r, now, "revoke");
    Request next = r;
    next.state = RequestState::Revoked;
    next.closed_by = actor.name;
    next.closed_at = now;
    next.close_reason = reason;
    next.updated_at = now;
    return next;
}

Result<Request> release_grant(const Request& r, const Actor& actor, const WorkflowPolicy& policy, usec_t now) {
    if (auto s = authorize(Operation::Release, actor, policy); !s)
        return s.error();
    if (!(actor.root || actor.manager || actor.name == r.engineer))
        return access_denied("releasing grant " + r.id, "its engineer, " + role("manager", policy.manager_group));
    const RequestState state = effective_state(r, now);
    if (state != RequestState::Approved && state != RequestState::Active)
        return invalid_state(r, now, "release");
    Request next = r;
    next.state = RequestState::Released;
    next.closed_by = actor.name;
    next.closed_at = now;
    next.close_reason = "released by " + actor.name;
    next.updated_at = now;
    return next;
}

std::optional<Request> expire_if_due(const Request& r, usec_t now) {
    if (!is_pending(r.state) || now < r.pending_until)
        return std::nullopt;
    Request next = r;
    next.state = RequestState::Expired;
    next.closed_by = daemon_actor().name;
    next.closed_at = now;
    next.close_reason = "nobody finished approving before the pending timeout";
    next.updated_at = now;
    return next;
}

bool may_read(const Request& r, const Actor& actor) {
    if (actor.root || actor.manager || actor.approver)
        return true;
    return actor.engineer && involved(r, actor);
}

std::optional<std::string> readable_involving(const Actor& actor) {
    if (actor.root || actor.manager || actor.approver)
        return std::nullopt;
    return actor.name;
}

Status authorize_read(const Request& r, const Actor& actor) {
    if (!may_read(r, actor))
        return make_error(Errc::AccessDenied, "access denied: engineers may read only their own requests");
    return {};
}

Result<std::string> export_grant(const Request& r, const Actor& actor, usec_t now) {
    if (!may_read(r, actor))
        return make_error(Errc::AccessDenied, "access denied: engineers may export only their own grants");
    const auto state = effective_state(r, now);
    if (r.token.empty() && (state == RequestState::Approved || state == RequestState::Active))
        return make_error(Errc::InvalidState, "request " + r.id +
                                                  " is approved and its grant is not signed yet: the tenant's "
                                                  "signer signs it within seconds (docs/fleet.md)");
    if (r.token.empty() || (state != RequestState::Approved && state != RequestState::Active))
        return make_error(Errc::InvalidState,
                          "request " + r.id + " is " + state_name(state) + "; there is no valid grant to export");
    return r.token;
}

}  // namespace lockbox::approval

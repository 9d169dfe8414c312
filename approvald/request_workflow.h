// The request state machine (docs/design.md §5, §6): who may move a request from which
// state to which, separation of duties, shortening only, pending expiry. Pure:
// no I/O, time passed in, so every transition is unit-tested with a fixed clock.
// It is the one authority on who may do what: the bus handlers ask it and
// decide nothing themselves.
//
// Refusals are Errors with code "access-denied" (missing role; the message names
// it), "invalid-state" (names the current state), "separation-of-duties" or
// "invalid-argument". The input request is never modified.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "request.h"
#include "request_validation.h"
#include "roles.h"

namespace lockbox::approval {

struct WorkflowPolicy {
    usec_t max_grant = 4 * 3600 * USEC_PER_SEC;
    usec_t pending_timeout = 12 * 3600 * USEC_PER_SEC;
    // Group names, only to tell a refused caller which role is needed.
    std::string engineer_group = "lockbox-engineers";
    std::string manager_group = "lockbox-managers";
    std::string approver_group = "lockbox-approvers";
    // [Access] Levels=, least privileged first (access_level.h).
    std::vector<std::string> access_levels = {"user"};
};

// What a caller asks to do, for the role gate.
enum class Operation { Create, Approve, Deny, Cancel, Read, Export, Revoke, Release, HostGrants };

// The role gate, decided from the caller's roles alone, before any request is
// loaded: a caller who could not do op to any request is refused here, so an id
// tells them nothing, not even whether it exists. What depends on the request
// (its stage, separation of duties, own requests only) is decided by the
// functions below.
Status authorize(Operation op, const Actor& actor, const WorkflowPolicy& policy);

// Authorizes and builds a new request (fields already validated). Engineers file
// for themselves, managers and root for anyone. A later start must lie after
// now and at most MAX_START_AHEAD ahead; it is kept in nbf while pending, and
// the pending deadline still counts from now. The access level is the one
// asked for, or the least privileged; a level policy does not list is refused.
Result<Request> create_request(const NewRequest& in, const Actor& actor, const std::string& id,
                               const WorkflowPolicy& policy, usec_t now);
// Stage decided by state: managers at pending-manager, approvers at
// pending-approver (then the result is Approved with nbf = now, or the later
// start asked for, and exp = nbf + duration; the caller signs the grant).
// Approving after that window ended is invalid-state. duration_sec 0 =
// unchanged, else only shorter. access "" = unchanged, else a level policy
// lists at or below the current one: an approval may lower the level, never
// raise it.
Result<Request> approve_request(const Request& r, const Actor& actor, uint64_t duration_sec, const std::string& comment,
                                const WorkflowPolicy& policy, usec_t now, const std::string& access = {});
Result<Request> deny_request(const Request& r, const Actor& actor, const std::string& reason,
                             const WorkflowPolicy& policy, usec_t now);
Result<Request> cancel_request(const Request& r, const Actor& actor, usec_t now);
Result<Request> revoke_grant(const Request& r, const Actor& actor, const std::string& reason,
                             const WorkflowPolicy& policy, usec_t now);
// "I'm done": the grant's engineer, a manager or root ends an approved or
// active grant early. The result is Released; hosts end access as for a
// revocation.
Result<Request> release_grant(const Request& r, const Actor& actor, const WorkflowPolicy& policy, usec_t now);
// The expired request if r is pending past its deadline, else nullopt.
std::optional<Request> expire_if_due(const Request& r, usec_t now);

// Readers: root, managers, approvers; engineers only requests they filed or that name them.
bool may_read(const Request& r, const Actor& actor);
// The narrowest store filter that keeps every request may_read lets actor
// read: nullopt (all) for root, managers and approvers, the actor's name
// (requests they filed or that name them) for anyone else. Only spares the
// store reading rows; may_read still decides each one.
std::optional<std::string> readable_involving(const Actor& actor);
// may_read as a refusal that says why.
Status authorize_read(const Request& r, const Actor& actor);
// The grant token of r, to the same people who may read the request, while the
// grant is valid (approved or active).
Result<std::string> export_grant(const Request& r, const Actor& actor, usec_t now);

}  // namespace lockbox::approval

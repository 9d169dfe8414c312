// An access request and its lifecycle states (docs/design.md §5). Plain data: the
// workflow decides transitions, the store persists, the service exposes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "grant_claims.h"

namespace lockbox::approval {

// Stored states. Active and Completed are never stored: they follow from the
// clock once a grant is Approved (see effective_state), so no timer can miss them.
enum class RequestState {
    PendingManager,
    PendingApprover,
    Approved,
    Active,
    Denied,
    Expired,
    Cancelled,
    Revoked,
    Released,  // ended early by its engineer or a manager ("I'm done")
    Completed,
};

const char* state_name(RequestState s);
std::optional<RequestState> parse_state(std::string_view name);
bool is_pending(RequestState s);
// Revoked or released: the grant was ended early and every host must end access.
bool is_ended_early(RequestState s);

struct StageApproval {
    Approval approval;  // role, user, at
    std::string comment;
};

struct Request {
    std::string id;  // UUID, also the grant's jti
    RequestState state = RequestState::PendingManager;
    std::string tenant;
    std::string ticket;
    std::string engineer;
    std::vector<std::string> hosts;
    std::vector<std::string> ssh_keys;
    std::string reason;
    usec_t requested_duration = 0;  // as filed
    usec_t duration = 0;            // possibly shortened by an approver
    // Access level as filed, and as approved (possibly lowered by an approver).
    // Empty in requests filed before levels existed: the least privileged level.
    std::string requested_access;
    std::string access;
    std::string created_by;
    usec_t created_at = 0;
    usec_t pending_until = 0;  // created_at + PendingTimeout, fixed at creation
    std::optional<StageApproval> manager;
    std::optional<StageApproval> approver;
    // Who ended the request (deny, cancel, revoke, release, expire), when and why.
    std::string closed_by;
    usec_t closed_at = 0;
    std::string close_reason;
    // The signed grant, once approved. While pending, nbf is the start the
    // requester asked for (request create --start), 0 for "at approval".
    usec_t nbf = 0;
    usec_t exp = 0;
    std::string token;
    usec_t updated_at = 0;
    // The store's revision of this record as it was read (etcd's mod_revision;
    // 0 in SQLite). A shared store writes a change only over the very version
    // it was computed from, so no instance overwrites what another wrote since.
    int64_t version = 0;
};

// The state a person should see at `now`: Approved becomes Active at nbf and
// Completed at exp; a pending request past its deadline reads as Expired even
// before the sweep has stored that.
RequestState effective_state(const Request& r, usec_t now);
// The stored states a request may be in when effective_state reads `shown`
// (the store narrows a state-filtered list by these; effective_state decides).
std::vector<RequestState> stored_states_shown_as(RequestState shown);

}  // namespace lockbox::approval

#include "request.h"

#include <array>
#include <utility>

namespace lockbox::approval {

namespace {
constexpr std::array<std::pair<RequestState, const char*>, 10> STATE_NAMES = {{
    {RequestState::PendingManager, "pending-manager"},
    {RequestState::PendingApprover, "pending-approver"},
    {RequestState::Approved, "approved"},
    {RequestState::Active, "active"},
    {RequestState::Denied, "denied"},
    {RequestState::Expired, "expired"},
    {RequestState::Cancelled, "cancelled"},
    {RequestState::Revoked, "revoked"},
    {RequestState::Released, "released"},
    {RequestState::Completed, "completed"},
}};
}  // namespace

const char* state_name(RequestState s) {
    for (const auto& [state, name] : STATE_NAMES)
        if (state == s)
            return name;
    return "unknown";
}

std::optional<RequestState> parse_state(std::string_view name) {
    for (const auto& [state, n] : STATE_NAMES)
        if (name == n)
            return state;
    return std::nullopt;
}

bool is_pending(RequestState s) { return s == RequestState::PendingManager || s == RequestState::PendingApprover; }

bool is_ended_early(RequestState s) { return s == RequestState::Revoked || s == RequestState::Released; }

RequestState effective_state(const Request& r, usec_t now) {
    if (is_pending(r.state) && now >= r.pending_until)
        return RequestState::Expired;
    if (r.state == RequestState::Approved) {
        if (now >= r.exp)
            return RequestState::Completed;
        if (now >= r.nbf)
            return RequestState::Active;
    }
    return r.state;
}

std::vector<RequestState> stored_states_shown_as(RequestState shown) {
    switch (shown) {
    case RequestState::Expired:
        return {RequestState::Expired, RequestState::PendingManager, RequestState::PendingApprover};
    case RequestState::Active:
        // Active and Completed are never stored, but a row that says so reads
        // as such in ListRequests, so a page must not drop it either.
        return {RequestState::Approved, RequestState::Active};
    case RequestState::Completed:
        return {RequestState::Completed, RequestState::Approved};
    default:
        return {shown};
    }
}

}  // namespace lockbox::approval

#include "request_json.h"

#include "bounded_json_array.h"
#include "time_format.h"

namespace lockbox::approval {

nlohmann::json request_to_json(const Request& r, usec_t now) {
    nlohmann::json j;
    j["id"] = r.id;
    j["state"] = state_name(effective_state(r, now));
    j["tenant"] = r.tenant;
    j["ticket"] = r.ticket;
    j["engineer"] = r.engineer;
    j["hosts"] = r.hosts;
    j["duration"] = r.duration / USEC_PER_SEC;
    j["requested_duration"] = r.requested_duration / USEC_PER_SEC;
    // "" only for requests filed before access levels existed.
    j["access"] = r.access;
    j["requested_access"] = r.requested_access;
    j["reason"] = r.reason;
    j["ssh_keys"] = r.ssh_keys;
    j["created_by"] = r.created_by;
    j["created_at"] = format_rfc3339(r.created_at);
    j["pending_until"] = format_rfc3339(r.pending_until);
    auto approvals = nlohmann::json::array();
    for (const auto* stage : {&r.manager, &r.approver})
        if (*stage)
            approvals.push_back({{"role", (*stage)->approval.role},
                                 {"user", (*stage)->approval.user},
                                 {"at", format_rfc3339((*stage)->approval.at)},
                                 {"comment", (*stage)->comment}});
    j["approvals"] = approvals;
    if (!r.closed_by.empty()) {
        j["closed_by"] = r.closed_by;
        j["closed_at"] = format_rfc3339(r.closed_at);
        j["close_reason"] = r.close_reason;
    }
    if (is_pending(r.state) && r.nbf != 0)
        j["start"] = format_rfc3339(r.nbf);  // the later start asked for
    if (!r.token.empty()) {
        j["jti"] = r.id;
        j["nbf"] = format_rfc3339(r.nbf);
        j["exp"] = format_rfc3339(r.exp);
    } else if (r.state == RequestState::Approved) {
        // A fleet's workflow approved it; the tenant's signer has not signed yet.
        j["nbf"] = format_rfc3339(r.nbf);
        j["exp"] = format_rfc3339(r.exp);
        j["awaiting_signature"] = true;
    }
    j["updated_at"] = format_rfc3339(r.updated_at);
    return j;
}

std::string requests_to_json(const std::vector<Request>& rs, usec_t now, size_t max_bytes, size_t* left_out) {
    BoundedJsonArray out(max_bytes);
    for (const auto& r : rs)
        if (!out.add(request_to_json(r, now).dump()))
            break;
    if (left_out)
        *left_out = rs.size() - out.count();
    return out.finish();
}

}  // namespace lockbox::approval

#include "request_record.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "names.h"
#include "request_validation.h"

namespace lockbox::approval {

namespace {

using nlohmann::json;

constexpr int RECORD_VERSION = 1;

json stage_to_json(const std::optional<StageApproval>& s) {
    if (!s)
        return nullptr;
    return {{"role", s->approval.role}, {"user", s->approval.user}, {"at", s->approval.at}, {"comment", s->comment}};
}

// Reads one field with its type checked; a missing or mistyped field is an
// error naming it, never a default that would pass for data.
struct Reader {
    const json& j;
    std::string bad;

    template <typename T>
    T get(const char* name) {
        auto it = j.find(name);
        if (it == j.end()) {
            if (bad.empty())
                bad = name;
            return T{};
        }
        try {
            return it->get<T>();
        } catch (const json::exception&) {
            if (bad.empty())
                bad = name;
            return T{};
        }
    }
};

std::optional<StageApproval> stage_from_json(const json& j, const char* role, std::string& bad) {
    if (j.is_null())
        return std::nullopt;
    if (!j.is_object()) {
        bad = role;
        return std::nullopt;
    }
    Reader in{j, {}};
    StageApproval s{{in.get<std::string>("role"), in.get<std::string>("user"), in.get<usec_t>("at")},
                    in.get<std::string>("comment")};
    if (!in.bad.empty() || s.approval.role != role || !is_valid_user_name(s.approval.user) ||
        s.comment.size() > MAX_COMMENT)
        bad = role;
    return s;
}

}  // namespace

std::string request_to_record(const Request& r) {
    json j;
    j["v"] = RECORD_VERSION;
    j["id"] = r.id;
    j["state"] = state_name(r.state);
    j["tenant"] = r.tenant;
    j["ticket"] = r.ticket;
    j["engineer"] = r.engineer;
    j["hosts"] = r.hosts;
    j["ssh_keys"] = r.ssh_keys;
    j["reason"] = r.reason;
    j["requested_duration"] = r.requested_duration;
    j["duration"] = r.duration;
    j["requested_access"] = r.requested_access;
    j["access"] = r.access;
    j["created_by"] = r.created_by;
    j["created_at"] = r.created_at;
    j["pending_until"] = r.pending_until;
    j["manager"] = stage_to_json(r.manager);
    j["approver"] = stage_to_json(r.approver);
    j["closed_by"] = r.closed_by;
    j["closed_at"] = r.closed_at;
    j["close_reason"] = r.close_reason;
    j["nbf"] = r.nbf;
    j["exp"] = r.exp;
    j["token"] = r.token;
    j["updated_at"] = r.updated_at;
    return j.dump();
}

Result<Request> request_from_record(const std::string& record) {
    if (record.size() > MAX_REQUEST_RECORD)
        return make_error(Errc::StoreDamaged, "request record larger than " + std::to_string(MAX_REQUEST_RECORD));
    json j = json::parse(record, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error(Errc::StoreDamaged, "request record is not a JSON object");
    Reader in{j, {}};
    if (in.get<int>("v") != RECORD_VERSION)
        return make_error(Errc::StoreDamaged, "request record: unknown version");
    Request r;
    r.id = in.get<std::string>("id");
    auto state = parse_state(in.get<std::string>("state"));
    r.tenant = in.get<std::string>("tenant");
    r.ticket = in.get<std::string>("ticket");
    r.engineer = in.get<std::string>("engineer");
    r.hosts = in.get<std::vector<std::string>>("hosts");
    r.ssh_keys = in.get<std::vector<std::string>>("ssh_keys");
    r.reason = in.get<std::string>("reason");
    r.requested_duration = in.get<usec_t>("requested_duration");
    r.duration = in.get<usec_t>("duration");
    r.requested_access = in.get<std::string>("requested_access");
    r.access = in.get<std::string>("access");
    r.created_by = in.get<std::string>("created_by");
    r.created_at = in.get<usec_t>("created_at");
    r.pending_until = in.get<usec_t>("pending_until");
    r.closed_by = in.get<std::string>("closed_by");
    r.closed_at = in.get<usec_t>("closed_at");
    r.close_reason = in.get<std::string>("close_reason");
    r.nbf = in.get<usec_t>("nbf");
    r.exp = in.get<usec_t>("exp");
    r.token = in.get<std::string>("token");
    r.updated_at = in.get<usec_t>("updated_at");
    std::string bad = in.bad;
    if (bad.empty() && j.contains("manager"))
        r.manager = stage_from_json(j["manager"], "manager", bad);
    if (bad.empty() && j.contains("approver"))
        r.approver = stage_from_json(j["approver"], "approver", bad);
    if (bad.empty()) {
        // The same bounds a bus argument meets (request_validation.h, names.h).
        if (!validate_request_id(r.id))
            bad = "id";
        else if (!state || *state == RequestState::Active || *state == RequestState::Completed)
            bad = "state";
        else if (!is_valid_tenant_name(r.tenant))
            bad = "tenant";
        else if (r.ticket.size() > MAX_TICKET)
            bad = "ticket";
        else if (!is_valid_user_name(r.engineer))
            bad = "engineer";
        else if (r.hosts.empty() || r.hosts.size() > MAX_HOSTS)
            bad = "hosts";
        else if (!std::all_of(r.hosts.begin(), r.hosts.end(), [](const auto& h) { return is_valid_host_target(h); }))
            bad = "hosts";
        else if (r.ssh_keys.size() > MAX_SSH_KEYS || std::any_of(r.ssh_keys.begin(), r.ssh_keys.end(),
                                                                 [](const auto& k) { return k.size() > MAX_SSH_KEY; }))
            bad = "ssh_keys";
        else if (r.reason.size() > MAX_REASON || r.close_reason.size() > MAX_REASON)
            bad = "reason";
    }
    if (!bad.empty())
        return make_error(Errc::StoreDamaged, "request record: field '" + bad + "' is missing or invalid");
    r.state = *state;
    return r;
}

}  // namespace lockbox::approval

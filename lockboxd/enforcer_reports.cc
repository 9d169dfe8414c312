// The JSON views of the enforcer's state that ListGrants, ListSessions and
// Status return (the same objects lockboxctl --json prints).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "bounded_json_array.h"
#include "enforcer.h"
#include "time_format.h"

namespace lockboxd {

namespace {

lockbox::ListPosition position_of(const Grant& g) { return {g.installed_at, g.claims.jti}; }

bool grant_listed_before(const Grant* a, const Grant* b) {
    return lockbox::listed_before(position_of(*a), position_of(*b));
}

}  // namespace

std::string Enforcer::grant_json(const Grant& g) const {
    const auto& c = g.claims;
    nlohmann::json approvals = nlohmann::json::array();
    for (const auto& a : c.approved_by)
        approvals.push_back({{"role", a.role}, {"user", a.user}, {"at", lockbox::format_rfc3339(a.at)}});
    nlohmann::json j{{"id", c.jti},
                     {"jti", c.jti},
                     {"state", grant_state_name(g.state)},
                     {"engineer", c.sub},
                     {"tenant", c.aud},
                     {"ticket", c.ticket},
                     {"hosts", c.hosts},
                     {"reason", c.reason},
                     {"issuer", c.iss},
                     {"iat", lockbox::format_rfc3339(c.iat)},
                     {"nbf", lockbox::format_rfc3339(c.nbf)},
                     {"exp", lockbox::format_rfc3339(c.exp)},
                     {"duration", (c.exp - c.nbf) / lockbox::USEC_PER_SEC},
                     {"ssh_keys", c.ssh_keys.size()},
                     {"approved_by", approvals},
                     {"installed_at", lockbox::format_rfc3339(g.installed_at)}};
    if (auto uid = uids_.find(c.sub))
        j["uid"] = *uid;
    if (g.ended_at)
        j["ended_at"] = lockbox::format_rfc3339(g.ended_at);
    return j.dump();
}

std::string Enforcer::grants_json(size_t max_bytes) const {
    // Newest first, and only as many as fit max_bytes: a bus message has a
    // size limit (dbus-daemon's default is 32 MiB), and a reply over it gets
    // lockboxd disconnected from the bus. Status has the counts of all;
    // ListGrantsPage reaches the rest.
    std::vector<const Grant*> order = grants_.all();
    std::sort(order.begin(), order.end(), grant_listed_before);
    lockbox::BoundedJsonArray out(max_bytes);
    for (const Grant* g : order)
        if (!out.add(grant_json(*g)))
            break;
    return out.finish();
}

lockbox::ListPage Enforcer::grants_page(const std::optional<lockbox::ListPosition>& after, uint32_t limit,
                                        size_t max_bytes) const {
    // The grants live in memory: pick those after the cursor and order only
    // the limit + 1 the page needs (the one more tells whether more remain).
    std::vector<const Grant*> order;
    for (const Grant* g : grants_.all())
        if (!after || lockbox::listed_before(*after, position_of(*g)))
            order.push_back(g);
    const size_t wanted = std::min<size_t>(order.size(), size_t{limit} + 1);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(wanted), order.end(),
                      grant_listed_before);
    lockbox::ListPage page(limit, max_bytes);
    for (size_t i = 0; i < wanted; i++)
        if (!page.add(position_of(*order[i]), grant_json(*order[i])))
            break;
    return page;
}

std::string Enforcer::sessions_json() const {
    auto arr = nlohmann::json::array();
    for (const auto& [id, s] : sessions_.all()) {
        nlohmann::json j{{"id", id},
                         {"user", s.user},
                         {"uid", s.uid},
                         {"pid", s.pid},
                         {"tty", s.tty},
                         {"rhost", s.rhost},
                         {"logind_session", s.logind_session},
                         {"grant_id", s.grant_id},
                         {"opened_at", lockbox::format_rfc3339(s.opened_at)}};
        if (s.audit_session != UINT32_MAX)
            j["audit_session"] = s.audit_session;
        if (const Grant* g = grants_.find(s.grant_id))
            j["expires"] = lockbox::format_rfc3339(g->claims.exp);
        arr.push_back(std::move(j));
    }
    return arr.dump();
}

std::string Enforcer::status_json(bool approval_reachable) const {
    // Counts and health only: Status is open to every local user.
    nlohmann::json j{{"daemon", "running"},
                     {"tenant", config_.tenant},
                     {"host", config_.host_name},
                     {"trusted_keys", key_count_},
                     {"grants",
                      {{"installed", grants_.count(GrantState::Installed)},
                       {"active", grants_.count(GrantState::Active)},
                       {"revoked", grants_.count(GrantState::Revoked)},
                       {"completed", grants_.count(GrantState::Completed)}}},
                     {"revoked_ids", grants_.revoked_count()},
                     {"sessions", sessions_.size()},
                     {"engineer_uids", uids_.size()},
                     {"kills_running", killer_.running()},
                     {"audit_backlog", outbox_.pending()},
                     {"approval_service", approval_reachable ? "reachable" : "unreachable"}};
    return j.dump();
}

}  // namespace lockboxd

#include "grant_registry.h"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "names.h"

namespace lockboxd {

const char* grant_state_name(GrantState s) {
    switch (s) {
    case GrantState::Installed: return "installed";
    case GrantState::Active: return "active";
    case GrantState::Revoked: return "revoked";
    case GrantState::Completed: return "completed";
    }
    return "unknown";
}

std::optional<GrantState> parse_grant_state(std::string_view s) {
    for (auto st : {GrantState::Installed, GrantState::Active, GrantState::Revoked, GrantState::Completed})
        if (s == grant_state_name(st))
            return st;
    return std::nullopt;
}

const char* access_reason_name(AccessReason r) {
    switch (r) {
    case AccessReason::Allowed: return "allowed";
    case AccessReason::NoGrant: return "no-grant";
    case AccessReason::NotYetValid: return "not-yet-valid";
    case AccessReason::Expired: return "expired";
    case AccessReason::Revoked: return "revoked";
    case AccessReason::WrongHost: return "wrong-host";
    case AccessReason::NotManaged: return "not-managed";
    }
    return "no-grant";
}

GrantRegistry::GrantRegistry(GrantPolicy policy) : policy_(std::move(policy)) {
    // Longest lead first, so warnings_sent walks toward exp.
    std::sort(policy_.warn_before.begin(), policy_.warn_before.end(), std::greater<>());
    policy_.warn_before.erase(std::remove_if(policy_.warn_before.begin(), policy_.warn_before.end(),
                                             [](usec_t w) { return w <= 0; }),
                              policy_.warn_before.end());
}

const Grant* GrantRegistry::find(const std::string& jti) const {
    auto it = by_jti_.find(jti);
    return it == by_jti_.end() ? nullptr : &it->second;
}

bool GrantRegistry::insert(Grant grant, usec_t now) {
    const std::string jti = grant.claims.jti;
    if (is_revoked(jti) || by_jti_.count(jti))
        return false;
    if (grant.installed_at == 0)
        grant.installed_at = now;
    if (grant.state == GrantState::Active) {
        // Warnings whose moment passed while nobody could send them are not
        // sent late; the next one still comes.
        grant.warnings_sent = 0;
        while (grant.warnings_sent < policy_.warn_before.size() &&
               now >= grant.claims.exp - policy_.warn_before[grant.warnings_sent])
            grant.warnings_sent++;
    }
    by_user_[grant.claims.sub].push_back(jti);
    auto [it, _] = by_jti_.emplace(jti, std::move(grant));
    schedule(it->second);
    return true;
}

std::optional<GrantState> GrantRegistry::revoke(const std::string& jti, usec_t now) {
    revoked_.insert(jti);
    auto it = by_jti_.find(jti);
    if (it == by_jti_.end())
        return std::nullopt;
    GrantState before = it->second.state;
    if (before != GrantState::Revoked) {
        it->second.state = GrantState::Revoked;
        it->second.ended_at = now;
        schedule(it->second);
    }
    return before;
}

std::optional<usec_t> GrantRegistry::deadline_of(const Grant& g) const {
    const auto& c = g.claims;
    switch (g.state) {
    case GrantState::Installed:
        return std::min(c.nbf - policy_.clock_skew, c.exp);
    case GrantState::Active: {
        usec_t t = c.exp;
        if (g.warnings_sent < policy_.warn_before.size())
            t = std::min(t, c.exp - policy_.warn_before[g.warnings_sent]);
        return t;
    }
    case GrantState::Revoked:
    case GrantState::Completed:
        return std::nullopt;
    }
    return std::nullopt;
}

void GrantRegistry::schedule(const Grant& g) {
    const std::string& jti = g.claims.jti;
    if (auto old = scheduled_at_.find(jti); old != scheduled_at_.end()) {
        deadlines_.erase({old->second, jti});
        scheduled_at_.erase(old);
    }
    if (auto t = deadline_of(g)) {
        deadlines_.emplace(*t, jti);
        scheduled_at_[jti] = *t;
    }
}

void GrantRegistry::process(Grant& g, usec_t now, std::vector<GrantEvent>& out) {
    const auto& c = g.claims;
    if (g.state == GrantState::Installed) {
        if (now >= c.exp) {
            g.state = GrantState::Completed;
            g.ended_at = now;
            out.push_back({GrantEventKind::Completed, c.jti, 0, false});
            return;
        }
        if (now >= c.nbf - policy_.clock_skew) {
            g.state = GrantState::Active;
            g.warnings_sent = 0;
            while (g.warnings_sent < policy_.warn_before.size() &&
                   now >= c.exp - policy_.warn_before[g.warnings_sent])
                g.warnings_sent++;
            out.push_back({GrantEventKind::Activated, c.jti, 0, false});
        }
    }
    if (g.state == GrantState::Active) {
        if (now >= c.exp) {
            g.state = GrantState::Completed;
            g.ended_at = now;
            out.push_back({GrantEventKind::Completed, c.jti, 0, true});
            return;
        }
        // Only the latest due warning is worth a terminal line.
        std::optional<usec_t> lead;
        while (g.warnings_sent < policy_.warn_before.size() &&
               now >= c.exp - policy_.warn_before[g.warnings_sent])
            lead = policy_.warn_before[g.warnings_sent++];
        if (lead)
            out.push_back({GrantEventKind::Warning, c.jti, *lead, false});
    }
}

std::vector<GrantEvent> GrantRegistry::advance(usec_t now) {
    std::vector<GrantEvent> out;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        std::string jti = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        scheduled_at_.erase(jti);
        auto it = by_jti_.find(jti);
        if (it == by_jti_.end())
            continue;
        process(it->second, now, out);
        schedule(it->second);
    }
    return out;
}

std::optional<usec_t> GrantRegistry::next_deadline() const {
    if (deadlines_.empty())
        return std::nullopt;
    return deadlines_.begin()->first;
}

bool GrantRegistry::is_live(const Grant& g, usec_t now) const {
    return g.state == GrantState::Active && now < g.claims.exp &&
           now >= g.claims.nbf - policy_.clock_skew;
}

AccessAnswer GrantRegistry::access(const std::string& user, usec_t now) const {
    AccessAnswer answer;
    auto it = by_user_.find(user);
    if (it == by_user_.end() || it->second.empty())
        return answer;
    const Grant* best_live = nullptr;
    const Grant* latest = nullptr;
    for (const auto& jti : it->second) {
        const Grant& g = by_jti_.at(jti);
        if (is_live(g, now) && (!best_live || g.claims.exp > best_live->claims.exp))
            best_live = &g;
        if (!latest || g.claims.exp > latest->claims.exp)
            latest = &g;
    }
    if (best_live) {
        return {AccessReason::Allowed, best_live->claims.jti, best_live->claims.exp};
    }
    answer.jti = latest->claims.jti;
    answer.expires = latest->claims.exp;
    if (latest->state == GrantState::Revoked)
        answer.reason = AccessReason::Revoked;
    else if (latest->state == GrantState::Completed || now >= latest->claims.exp)
        answer.reason = AccessReason::Expired;
    else
        answer.reason = AccessReason::NotYetValid;
    return answer;
}

bool GrantRegistry::has_active_grant(const std::string& user, usec_t now, const std::string& except_jti) const {
    for (const Grant* g : active_grants_of(user, now))
        if (g->claims.jti != except_jti)
            return true;
    return false;
}

std::vector<const Grant*> GrantRegistry::active_grants_of(const std::string& user, usec_t now) const {
    std::vector<const Grant*> out;
    auto it = by_user_.find(user);
    if (it == by_user_.end())
        return out;
    for (const auto& jti : it->second) {
        const Grant& g = by_jti_.at(jti);
        if (is_live(g, now))
            out.push_back(&g);
    }
    return out;
}

std::vector<const Grant*> GrantRegistry::grants_of(const std::string& user) const {
    std::vector<const Grant*> out;
    auto it = by_user_.find(user);
    if (it != by_user_.end())
        for (const auto& jti : it->second)
            out.push_back(&by_jti_.at(jti));
    return out;
}

std::vector<const Grant*> GrantRegistry::all() const {
    std::vector<const Grant*> out;
    out.reserve(by_jti_.size());
    for (const auto& [_, g] : by_jti_)
        out.push_back(&g);
    std::sort(out.begin(), out.end(), [](const Grant* a, const Grant* b) {
        return a->claims.nbf != b->claims.nbf ? a->claims.nbf < b->claims.nbf : a->claims.jti < b->claims.jti;
    });
    return out;
}

size_t GrantRegistry::count(GrantState s) const {
    size_t n = 0;
    for (const auto& [_, g] : by_jti_)
        n += g.state == s;
    return n;
}

void GrantRegistry::prune(usec_t now, usec_t keep) {
    for (auto it = by_jti_.begin(); it != by_jti_.end();) {
        const Grant& g = it->second;
        bool ended = g.state == GrantState::Revoked || g.state == GrantState::Completed;
        if (ended && g.claims.exp < now - keep) {
            auto& list = by_user_[g.claims.sub];
            list.erase(std::remove(list.begin(), list.end(), it->first), list.end());
            if (list.empty())
                by_user_.erase(g.claims.sub);
            if (auto s = scheduled_at_.find(it->first); s != scheduled_at_.end()) {
                deadlines_.erase({s->second, it->first});
                scheduled_at_.erase(s);
            }
            it = by_jti_.erase(it);
        } else {
            ++it;
        }
    }
}

std::string GrantRegistry::to_json() const {
    nlohmann::json j;
    j["version"] = 1;
    j["grants"] = nlohmann::json::array();
    for (const Grant* g : all())
        j["grants"].push_back({{"token", g->token},
                               {"state", grant_state_name(g->state)},
                               {"installed_at", g->installed_at},
                               {"ended_at", g->ended_at},
                               {"sub", g->claims.sub},
                               {"jti", g->claims.jti},
                               {"exp", g->claims.exp}});
    std::vector<std::string> revoked(revoked_.begin(), revoked_.end());
    std::sort(revoked.begin(), revoked.end());
    j["revoked"] = revoked;
    return j.dump();
}

lockbox::Result<PersistedGrants> GrantRegistry::parse_json(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto bad = [](const std::string& what) { return lockbox::make_error("malformed", "grant state file: " + what); };
    if (j.is_discarded() || !j.is_object())
        return bad("not a JSON object");
    PersistedGrants out;
    if (j.contains("grants")) {
        if (!j["grants"].is_array())
            return bad("\"grants\" is not an array");
        for (const auto& e : j["grants"]) {
            if (!e.is_object() || !e.contains("token") || !e["token"].is_string() || !e.contains("state") ||
                !e["state"].is_string())
                return bad("a grant entry lacks token or state");
            auto st = parse_grant_state(e["state"].get<std::string>());
            if (!st)
                return bad("unknown grant state");
            PersistedGrant p;
            p.token = e["token"].get<std::string>();
            p.state = *st;
            if (e.contains("installed_at") && e["installed_at"].is_number_integer())
                p.installed_at = e["installed_at"].get<usec_t>();
            if (e.contains("ended_at") && e["ended_at"].is_number_integer())
                p.ended_at = e["ended_at"].get<usec_t>();
            if (e.contains("sub") && e["sub"].is_string() && lockbox::is_valid_user_name(e["sub"].get<std::string>()))
                p.sub = e["sub"].get<std::string>();
            if (e.contains("jti") && e["jti"].is_string() && e["jti"].get<std::string>().size() <= 128)
                p.jti = e["jti"].get<std::string>();
            if (e.contains("exp") && e["exp"].is_number_integer())
                p.exp = e["exp"].get<usec_t>();
            out.grants.push_back(std::move(p));
        }
    }
    if (j.contains("revoked")) {
        if (!j["revoked"].is_array())
            return bad("\"revoked\" is not an array");
        for (const auto& r : j["revoked"]) {
            if (!r.is_string() || r.get<std::string>().size() > 128)
                return bad("a revoked id is not a short string");
            out.revoked.push_back(r.get<std::string>());
        }
    }
    return out;
}

void GrantRegistry::restore_revoked(const std::vector<std::string>& jtis) {
    for (const auto& jti : jtis)
        revoke(jti, 0);
}

}  // namespace lockboxd

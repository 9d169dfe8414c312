#include "grant_registry.h"

#include <algorithm>
#include <functional>

namespace lockboxd {

const char* grant_state_name(GrantState s) {
    switch (s) {
    case GrantState::Installed:
        return "installed";
    case GrantState::Active:
        return "active";
    case GrantState::Revoked:
        return "revoked";
    case GrantState::Completed:
        return "completed";
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
    case AccessReason::Allowed:
        return "allowed";
    case AccessReason::NoGrant:
        return "no-grant";
    case AccessReason::NotYetValid:
        return "not-yet-valid";
    case AccessReason::Expired:
        return "expired";
    case AccessReason::Revoked:
        return "revoked";
    case AccessReason::WrongHost:
        return "wrong-host";
    case AccessReason::NotManaged:
        return "not-managed";
    case AccessReason::NameConflict:
        return "name-conflict";
    }
    return "no-grant";
}

GrantRegistry::GrantRegistry(GrantPolicy policy) : policy_(std::move(policy)) {
    // Longest lead first, so warnings_sent walks toward exp.
    std::sort(policy_.warn_before.begin(), policy_.warn_before.end(), std::greater<>());
    policy_.warn_before.erase(
        std::remove_if(policy_.warn_before.begin(), policy_.warn_before.end(), [](usec_t w) { return w <= 0; }),
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
    note_ended(it->second);
    changes_.removed.erase(jti);
    changes_.written.insert(jti);
    state_changed_.insert(jti);
    return true;
}

std::optional<GrantState> GrantRegistry::revoke(const std::string& jti, usec_t now) {
    if (revoked_.insert(jti).second)
        changes_.revoked.push_back(jti);
    auto it = by_jti_.find(jti);
    if (it == by_jti_.end())
        return std::nullopt;
    GrantState before = it->second.state;
    if (before != GrantState::Revoked) {
        it->second.state = GrantState::Revoked;
        it->second.ended_at = now;
        schedule(it->second);
        note_ended(it->second);
        changes_.written.insert(jti);
        state_changed_.insert(jti);
    }
    return before;
}

usec_t GrantRegistry::end_of(const Grant& g) const {
    return g.claims.exp > policy_.end_lead ? g.claims.exp - policy_.end_lead : 0;
}

std::optional<usec_t> GrantRegistry::deadline_of(const Grant& g) const {
    const auto& c = g.claims;
    switch (g.state) {
    case GrantState::Installed:
        return std::min(c.nbf - policy_.clock_skew, end_of(g));
    case GrantState::Active: {
        usec_t t = end_of(g);
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
        if (now >= end_of(g)) {
            g.state = GrantState::Completed;
            g.ended_at = now;
            out.push_back({GrantEventKind::Completed, c.jti, 0, false});
            return;
        }
        if (now >= c.nbf - policy_.clock_skew) {
            g.state = GrantState::Active;
            g.warnings_sent = 0;
            while (g.warnings_sent < policy_.warn_before.size() && now >= c.exp - policy_.warn_before[g.warnings_sent])
                g.warnings_sent++;
            out.push_back({GrantEventKind::Activated, c.jti, 0, false});
        }
    }
    if (g.state == GrantState::Active) {
        if (now >= end_of(g)) {
            g.state = GrantState::Completed;
            g.ended_at = now;
            out.push_back({GrantEventKind::Completed, c.jti, 0, true});
            return;
        }
        // Only the latest due warning is worth a terminal line.
        std::optional<usec_t> lead;
        while (g.warnings_sent < policy_.warn_before.size() && now >= c.exp - policy_.warn_before[g.warnings_sent])
            lead = policy_.warn_before[g.warnings_sent++];
        // No warning when another grant of theirs carries access past this end.
        if (lead && !has_active_grant(c.sub, end_of(g), c.jti))
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
        GrantState before = it->second.state;
        process(it->second, now, out);
        if (it->second.state != before) {
            note_ended(it->second);
            changes_.written.insert(jti);
            state_changed_.insert(jti);
        }
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
    return g.state == GrantState::Active && now < end_of(g) && now >= g.claims.nbf - policy_.clock_skew;
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
    else if (latest->state == GrantState::Completed || now >= end_of(*latest))
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
    while (!ended_by_exp_.empty() && ended_by_exp_.begin()->first < now - keep) {
        const std::string jti = ended_by_exp_.begin()->second;
        ended_by_exp_.erase(ended_by_exp_.begin());
        auto it = by_jti_.find(jti);
        if (it == by_jti_.end())
            continue;
        const Grant& g = it->second;
        auto& list = by_user_[g.claims.sub];
        list.erase(std::remove(list.begin(), list.end(), jti), list.end());
        if (list.empty())
            by_user_.erase(g.claims.sub);
        if (auto s = scheduled_at_.find(jti); s != scheduled_at_.end()) {
            deadlines_.erase({s->second, jti});
            scheduled_at_.erase(s);
        }
        changes_.written.erase(jti);
        changes_.removed.insert(jti);
        by_jti_.erase(it);
    }
}

void GrantRegistry::note_ended(const Grant& g) {
    if (g.state == GrantState::Revoked || g.state == GrantState::Completed)
        ended_by_exp_.emplace(g.claims.exp, g.claims.jti);
}

PersistedGrant GrantRegistry::persisted(const Grant& g) {
    return PersistedGrant{g.token, g.state, g.installed_at, g.ended_at, g.claims.sub, g.claims.jti, g.claims.exp};
}

void GrantRegistry::restore_revoked(const std::vector<std::string>& jtis) {
    for (const auto& jti : jtis)
        revoke(jti, 0);
}

std::vector<std::string> GrantRegistry::take_state_changes() {
    std::vector<std::string> out(state_changed_.begin(), state_changed_.end());
    state_changed_.clear();
    return out;
}

}  // namespace lockboxd

// The verified grants this host honours and what time does to them. Pure logic
// on an explicit "now": it never reads a clock, verifies a token or touches the
// bus; the enforcer verifies before insert() and acts on the events advance()
// returns. Lookups by engineer are O(1) so CheckAccess answers the same at one
// grant and at a hundred thousand.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clock.h"
#include "grant_claims.h"

namespace lockboxd {

using lockbox::usec_t;

// A grant the approval service ended before its exp (GetHostGrants): how
// ("revoked", or "released" by its engineer or a manager) and by whom, for the
// audit and the last line on the engineer's terminals. Both are the approval
// service's word, informative only: lockboxd acts on the id alone.
struct EndedGrant {
    std::string jti;
    std::string how = "revoked";
    std::string by;
};

enum class GrantState { Installed, Active, Revoked, Completed };
const char* grant_state_name(GrantState s);  // "installed", "active", "revoked", "completed"
std::optional<GrantState> parse_grant_state(std::string_view s);

struct Grant {
    std::string token;
    lockbox::GrantClaims claims;
    std::string kid;  // the trusted key that signed it (k4.pid.…)
    GrantState state = GrantState::Installed;
    usec_t installed_at = 0;
    usec_t ended_at = 0;       // when revoked or completed
    size_t warnings_sent = 0;  // index into GrantPolicy::warn_before
};

struct GrantPolicy {
    // Widens when a grant may start, never when it ends.
    usec_t clock_skew = 0;
    std::vector<usec_t> warn_before;  // lead times before exp; any order
    // Access ends this long before exp ([Policy] KillLead): the kill starts
    // then, so that the kernel's teardown of the processes is over by exp.
    usec_t end_lead = 0;
};

enum class GrantEventKind { Activated, Warning, Completed };
struct GrantEvent {
    GrantEventKind kind;
    std::string jti;
    usec_t lead = 0;          // Warning: how long before exp
    bool was_active = false;  // Completed: it had been active (so sessions may exist)
};

// CheckAccess reasons (docs/bus-api.md). NotManaged is decided by the enforcer.
enum class AccessReason { Allowed, NoGrant, NotYetValid, Expired, Revoked, WrongHost, NotManaged, NameConflict };
const char* access_reason_name(AccessReason r);

struct AccessAnswer {
    AccessReason reason = AccessReason::NoGrant;
    std::string jti;
    usec_t expires = 0;
};

// What persistence gives back; tokens are re-verified before they count again.
struct PersistedGrant {
    std::string token;
    GrantState state = GrantState::Installed;
    usec_t installed_at = 0;
    usec_t ended_at = 0;
    // Copies from the claims, so a grant whose key was withdrawn while it was
    // active can still be ended after a restart.
    std::string sub;
    std::string jti;
    usec_t exp = 0;
};
struct PersistedGrants {
    std::vector<PersistedGrant> grants;
    std::vector<std::string> revoked;
};

// What changed since the last clear_changes(), so that persisting costs the
// change and not the whole registry.
struct GrantChanges {
    std::unordered_set<std::string> written;  // inserted, or whose state changed
    std::unordered_set<std::string> removed;  // pruned
    std::vector<std::string> revoked;         // newly remembered revoked ids
    bool empty() const { return written.empty() && removed.empty() && revoked.empty(); }
};

class GrantRegistry {
public:
    explicit GrantRegistry(GrantPolicy policy);

    bool is_revoked(const std::string& jti) const { return revoked_.count(jti) != 0; }
    const Grant* find(const std::string& jti) const;

    // Adds a verified grant in its state as given. Returns false (and changes
    // nothing) if the jti is known or revoked.
    bool insert(Grant grant, usec_t now);

    // Marks the jti revoked for good (also unknown ones, so they never come in).
    // Returns the grant's previous state when it was known.
    std::optional<GrantState> revoke(const std::string& jti, usec_t now);

    // State changes and warnings due at now, in time order per grant.
    std::vector<GrantEvent> advance(usec_t now);
    // The earliest moment advance() has something to do; nullopt: nothing ahead.
    std::optional<usec_t> next_deadline() const;

    // Decided from memory and now alone; Active needs now < exp even if the
    // timer has not fired yet.
    AccessAnswer access(const std::string& user, usec_t now) const;
    bool has_active_grant(const std::string& user, usec_t now, const std::string& except_jti = {}) const;
    // Active grants of the user (for keys); all grants of the user.
    std::vector<const Grant*> active_grants_of(const std::string& user, usec_t now) const;
    std::vector<const Grant*> grants_of(const std::string& user) const;
    std::vector<const Grant*> all() const;

    size_t size() const { return by_jti_.size(); }
    size_t count(GrantState s) const;
    size_t revoked_count() const { return revoked_.size(); }

    // Forgets ended grants whose exp is older than now - keep (revoked jtis stay),
    // in O(forgotten): the tick that calls it runs inside the event loop.
    void prune(usec_t now, usec_t keep);

    void restore_revoked(const std::vector<std::string>& jtis);
    // The persisted form of a grant held here.
    static PersistedGrant persisted(const Grant& g);

    // Warnings are not changes: they are recomputed from exp after a restart.
    const GrantChanges& changes() const { return changes_; }
    void clear_changes() { changes_ = {}; }
    // Ids inserted or whose state changed since the last call (pruned ids may
    // be among them): the NSS cache follows the registry in O(changed) with
    // them, and since every state change passes through here none is missed.
    std::vector<std::string> take_state_changes();

private:
    bool is_live(const Grant& g, usec_t now) const;
    void process(Grant& g, usec_t now, std::vector<GrantEvent>& out);
    void schedule(const Grant& g);
    std::optional<usec_t> deadline_of(const Grant& g) const;
    usec_t end_of(const Grant& g) const;  // exp - end_lead: where access ends
    void note_ended(const Grant& g);

    GrantPolicy policy_;
    std::unordered_map<std::string, Grant> by_jti_;
    std::unordered_map<std::string, std::vector<std::string>> by_user_;
    std::unordered_set<std::string> revoked_;
    // (time, jti): the next thing each grant waits for.
    std::set<std::pair<usec_t, std::string>> deadlines_;
    std::unordered_map<std::string, usec_t> scheduled_at_;
    // (exp, jti) of revoked and completed grants: what prune() may forget next.
    std::set<std::pair<usec_t, std::string>> ended_by_exp_;
    GrantChanges changes_;
    std::unordered_set<std::string> state_changed_;
};

}  // namespace lockboxd

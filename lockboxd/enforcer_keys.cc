// The Enforcer's trusted keys: read at start-up and again on SIGHUP or a change
// inside [Keys] TrustedDir (trusted_keys_watch.h). Removing a compromised key
// must end what it signed at once, not at the next restart.
#include <algorithm>
#include <iterator>

#include "enforcer.h"
#include "join_words.h"
#include "key_file.h"
#include "log.h"

namespace lockboxd {

using lockbox::AuditEvent;

void Enforcer::use_trusted_keys(lockbox::TrustedKeys keys) {
    for (const auto& p : keys.problems)
        log_warning("trusted key skipped: " + p);
    key_count_ = keys.by_kid.size();
    trusted_kids_.clear();
    for (const auto& [kid, _] : keys.by_kid)
        trusted_kids_.insert(kid);
    if (key_count_ == 0)
        log_warning("no trusted key in " + config_.trusted_dir + ": every grant will be refused");
    verifier_ = std::make_unique<lockbox::GrantVerifier>(
        std::move(keys),
        lockbox::VerifierPolicy{config_.tenant, config_.host_name, config_.max_grant, config_.clock_skew,
                                config_.host_groups},
        clock_);
}

size_t Enforcer::reload_trusted_keys(const std::string& trigger) {
    auto keys = lockbox::load_trusted_keys(config_.trusted_dir, lockbox::expected_key_owner(config_));
    lockbox::TrustedKeys loaded;
    if (keys) {
        loaded = std::move(*keys);
    } else if (keys.error().code == lockbox::Errc::IoError) {
        // EMFILE, EIO…: says nothing about which keys the operator trusts.
        log_error("cannot read the trusted keys again, keeping the " + std::to_string(key_count_) +
                  " in use: " + keys.error().message);
        return 0;
    } else {
        // Gone, or writable by others (anyone could have put a key there):
        // nothing in it can be trusted.
        log_error("trusting no key: " + keys.error().message);
    }
    std::set<std::string> before = trusted_kids_;
    use_trusted_keys(std::move(loaded));
    std::vector<std::string> added, removed;
    std::set_difference(trusted_kids_.begin(), trusted_kids_.end(), before.begin(), before.end(),
                        std::back_inserter(added));
    std::set_difference(before.begin(), before.end(), trusted_kids_.begin(), trusted_kids_.end(),
                        std::back_inserter(removed));
    // A grant refused for its key may verify now; the next resync tries again.
    refused_ids_.clear();

    usec_t now = clock_.now();
    std::vector<std::string> untrusted;
    for (const Grant* g : grants_.all())
        if ((g->state == GrantState::Installed || g->state == GrantState::Active) && !trusted_kids_.count(g->kid))
            untrusted.push_back(g->claims.jti);
    bool nss_dirty = false;
    for (const auto& jti : untrusted) {
        const Grant* g = grants_.find(jti);
        bool was_active = g->state == GrantState::Active;
        grants_.revoke(jti, now);
        // The kill first: it is what the removal is about.
        if (was_active && !grants_.has_active_grant(g->claims.sub, now))
            end_access(g->claims.sub, jti, now, "key-withdrawn");
        nss_dirty |= was_active;
        audit(
            AuditEvent::GrantUntrusted, "lockboxd", &g->claims,
            "grant " + jti + " for " + g->claims.sub + " dropped: its signing key " + g->kid + " is no longer trusted",
            {{"KID", g->kid}, {"REASON", "key-withdrawn"}, {"TRIGGER", trigger}});
        if (on_grant_changed)
            on_grant_changed(jti, "revoked");
    }
    persist_grants();
    if (nss_dirty)
        publish_nss();
    changed();
    if (added.empty() && removed.empty() && untrusted.empty()) {
        log_info("trusted keys read again (" + trigger + "): " + std::to_string(key_count_) + ", unchanged");
        return 0;
    }
    audit(AuditEvent::TrustedKeysChanged, "lockboxd", nullptr,
          "trusted keys read again (" + trigger + "): " + std::to_string(key_count_) + " trusted, " +
              std::to_string(added.size()) + " added, " + std::to_string(removed.size()) + " removed, " +
              std::to_string(untrusted.size()) + " grants dropped",
          {{"TRIGGER", trigger},
           {"KEYS_ADDED", join_words(added)},
           {"KEYS_REMOVED", join_words(removed)},
           {"TRUSTED_KEYS", std::to_string(key_count_)},
           {"GRANTS_DROPPED", std::to_string(untrusted.size())}});
    return untrusted.size();
}

// The key went while lockboxd was down: the same end as at a reload (the kill
// already ran in recover()), so re-trusting the key never revives the grant.
void Enforcer::revoke_untrusted_at_load(usec_t now) {
    for (const auto& [user, jti] : untrusted_at_load_) {
        grants_.revoke(jti, now);  // not in the registry: remembered as revoked
        lockbox::GrantClaims c;
        c.jti = jti;
        c.sub = user;
        c.aud = config_.tenant;
        audit(AuditEvent::GrantUntrusted, "lockboxd", &c,
              "grant " + jti + " for " + user + " dropped at start-up: its signing key is no longer trusted",
              {{"REASON", "key-withdrawn"}, {"TRIGGER", "start-up"}});
    }
    if (!untrusted_at_load_.empty())
        persist_grants();
    untrusted_at_load_.clear();
}

}  // namespace lockboxd

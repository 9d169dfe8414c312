// Who owns a name and a uid on this host, and what lockboxd does about the
// processes and records of those it does not own (issue 17 §3, §4):
// - a name is Lockbox's only while no other NSS source knows it or its uid,
//   asked at install and at every use (docs/enforcement.md, "Local accounts win");
// - the lockbox uid range is Lockbox's: a live process there without an active
//   grant is ended at start-up and whenever a grant ends, mapped or not;
// - the NSS cache never keeps records of engineers whose access ended, even
//   when a rebuild fails.
#include <set>

#include "access_level.h"
#include "audit.h"
#include "enforcer.h"
#include "join_words.h"
#include "log.h"
#include "nss_cache_publisher.h"
#include "process_table.h"

namespace lockboxd {

using lockbox::AuditEvent;
using lockbox::usec_t;

lockbox::Status Enforcer::name_is_ours(const std::string& user, uid_t uid, const char* use,
                                       const lockbox::GrantClaims* claims, bool fresh) {
    // Four NSS lookups cost from microseconds (files) to a round trip to a
    // directory; CheckAccess answers in ~100 us. A positive answer therefore
    // serves for name_check_ttl, but never past an edit of /etc/passwd or
    // /etc/group (useradd, vipw), which is checked by two stat() calls every
    // time. Directory sources cache longer than that themselves (sssd's
    // negative cache: 15 s). Conflicts and errors are never cached.
    usec_t now = clock_.now();
    std::string stamp = local_account_files_stamp(etc_dir);
    if (stamp != names_ours_stamp_) {
        names_ours_.clear();
        names_ours_stamp_ = stamp;
    }
    if (!fresh) {
        auto it = names_ours_.find(user);
        if (it != names_ours_.end() && it->second.uid == uid && now >= it->second.checked_at &&
            now - it->second.checked_at < name_check_ttl)
            return {};
    }
    names_ours_.erase(user);
    auto st = check_no_local_account(user, uid, nss_lookups);
    if (st) {
        conflicts_audited_.erase(user);
        if (name_check_ttl > 0)
            names_ours_[user] = {uid, now};  // bounded like the uid map: names with a grant
        return st;
    }
    // sshd asks once per offered key and any local user may call
    // AuthorizedKeys: one record per name and cause until it clears. The map
    // holds names with a grant only, so it is bounded by the uid map.
    std::string& last = conflicts_audited_[user];
    if (last != st.error().message) {
        last = st.error().message;
        log_warning("refusing " + user + " (" + use + "): " + st.error().message);
        std::vector<std::pair<std::string, std::string>> fields = {{"REASON", lockbox::errc_name(st.error().code)},
                                                                   {"USE", use}};
        if (!claims)
            fields.emplace_back("ENGINEER", user);
        audit(AuditEvent::NameConflict, "lockboxd", claims,
              "the name " + user + " is not Lockbox's (" + use + "): " + st.error().message, std::move(fields));
    }
    return st;
}

void Enforcer::sweep_range(usec_t now, const char* cause, const std::set<uid_t>& skip) {
    std::set<uid_t> owned;
    for (const Grant* g : grants_.all())
        if (g->state == GrantState::Active && now < g->claims.exp)
            if (auto uid = uids_.find(g->claims.sub))
                owned.insert(*uid);
    for (uid_t uid : live_uids_in_range(config_.uid_min, config_.uid_max, proc_root)) {
        if (owned.count(uid) || skip.count(uid))
            continue;
        if (auto name = uids_.name_of(uid))
            end_access(*name, "", now, cause);
        else
            end_unowned_uid(uid, now, cause);
    }
}

void Enforcer::end_unowned_uid(uid_t uid, usec_t now, const char* cause) {
    // No engineer of ours holds this uid (a lost map, a local account given a
    // uid inside the range): nothing to clean up but the processes.
    std::string who = "uid " + std::to_string(uid);
    log_info("ending the processes of " + who + " (" + cause + "): in the lockbox range without a grant");
    killer_.kill_uid(uid, [this, who, now, cause = std::string(cause)](const KillReport& report) {
        if (report.pids.empty())
            return;
        audit(AuditEvent::SessionKilled, "lockboxd", nullptr,
              "processes of " + who + " ended: in the lockbox uid range without an active grant",
              {{"PIDS", join_words(report.pids)},
               {"DELAY_MS", std::to_string((report.finished_at - now) / lockbox::USEC_PER_MSEC)},
               {"REASON", cause + ": no grant holds " + who}});
        if (!report.stragglers.empty())
            log_error("processes of " + who + " survived SIGKILL");
    });
}

// O(changed) on the event loop: the registry names the grants whose state
// changed, the rebuilder withdraws the names that lost their last grant before
// this returns and rebuilds the rest off the loop (nss_cache_rebuilder.h).
void Enforcer::publish_nss() {
    usec_t now = clock_.now();
    for (const auto& jti : grants_.take_state_changes()) {
        const Grant* g = grants_.find(jti);
        auto uid = g ? uids_.find(g->claims.sub) : std::nullopt;
        if (g && g->state == GrantState::Active && now < g->claims.exp && uid)
            nss_->set(jti, {g->claims.sub, *uid, g->claims.ticket, g->claims.exp,
                            lockbox::effective_access_level(config_.access_levels, g->claims.access)});
        else
            nss_->drop(jti);
    }
    // The first publish after start-up replaces the file a previous lockboxd
    // left (which may list engineers whose grants ended or were dropped while
    // it was down), even with no grant at all, before the bus name is taken.
    if (nss_publish_failed_ || !nss_published_once_)
        nss_->request_full_rebuild();
    nss_->publish(/*wait=*/!nss_published_once_);
    nss_published_once_ = true;
}

void Enforcer::on_nss_report(const NssPublishReport& report) {
    usec_t now = clock_.now();
    for (const auto& [name, why] : report.dropped) {
        auto active = grants_.active_grants_of(name, now);
        audit(AuditEvent::NssCacheFailed, "lockboxd", active.empty() ? nullptr : &active.front()->claims,
              "the NSS record of " + name + " was left out of the cache: " + why, {{"REASON", why}});
    }
    nss_publish_failed_ = !report.written;
    if (!report.written) {
        std::string what = report.withdraw_error.empty()
                               ? "no engineer resolves until the next rebuild"
                               : "and the old cache could not be removed either: " + report.withdraw_error;
        log_error("cannot write the NSS cache: " + report.written.error().message + "; " + what);
        audit(AuditEvent::NssCacheFailed, "lockboxd", nullptr,
              "the NSS cache could not be rebuilt (" + report.written.error().message + "); " + what,
              {{"REASON", report.written.error().message}});
    }
}

}  // namespace lockboxd

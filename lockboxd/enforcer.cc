#include "enforcer.h"

#include <algorithm>
#include <csignal>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "audit.h"
#include "bus_api.h"
#include "enforcer_store.h"
#include "key_file.h"
#include "join_words.h"
#include "local_account_guard.h"
#include "log.h"
#include "access_level.h"
#include "names.h"
#include "nss_cache_publisher.h"
#include "process_table.h"
#include "state_files.h"
#include "terminal_finder.h"
#include "terminal_warner.h"
#include "time_format.h"

namespace lockboxd {

using lockbox::AuditEvent;
using lockbox::usec_t;

namespace {

// Ended grants stay listed (and answer "expired"/"revoked") this long.
constexpr usec_t KEEP_ENDED = 24 * 3600 * lockbox::USEC_PER_SEC;

// The registry's warning leads: WarnBefore, plus KillGrace, when SIGTERM goes
// out, plus the last line's lead when the grace does not carry it. Access
// ends, and the kill starts, KillLead before exp whatever the engineer does
// with SIGTERM (ignore it, or have their processes stopped).
GrantPolicy grant_policy_of(const lockbox::Config& config) {
    GrantPolicy policy{config.clock_skew, config.warn_before, config.kill_lead};
    for (usec_t lead : {config.kill_grace, notice_lead(config)})
        if (lead > 0 &&
            std::find(policy.warn_before.begin(), policy.warn_before.end(), lead) == policy.warn_before.end())
            policy.warn_before.push_back(lead);
    return policy;
}

}  // namespace

usec_t notice_lead(const lockbox::Config& config) {
    usec_t lead = config.kill_lead + NOTICE_PAUSE;
    return config.kill_grace >= lead ? 0 : lead;
}

Enforcer::Enforcer(lockbox::Config config, const lockbox::Clock& clock, sd_event* event)
    : config_(std::move(config)),
      clock_(clock),
      event_(event),
      grants_(grant_policy_of(config_)),
      // The top of the range is the grantees and level groups' (nss_cache_publisher.h).
      uids_(config_.uid_min, highest_engineer_uid(config_)),
      killer_(event, clock),
      nss_(std::make_unique<NssCacheRebuilder>(config_, event,
                                               [this](const NssPublishReport& r) { on_nss_report(r); })) {
    outbox_.attach(event);
}

Enforcer::~Enforcer() = default;

void Enforcer::set_bus(sd_bus* bus) { logind_ = LogindClient(bus); }

lockbox::Status Enforcer::load() {
    auto keys = lockbox::load_trusted_keys(config_.trusted_dir, lockbox::expected_key_owner(config_));
    if (!keys)
        return keys.error();
    use_trusted_keys(std::move(*keys));

    if (auto st = ensure_directory(config_.state_dir, 0755); !st)
        return st;
    const std::string dir = config_.enforcer_dir();
    if (auto st = ensure_directory(dir, 0700); !st)
        return st;

    auto state = open_store(dir);
    if (!state)
        return state.error();

    usec_t now = clock_.now();
    end_lapsed_before_verifying(state->grants, now);
    // lockboxd verified every stored token before it stored it; only root can
    // write the store, and root can equally edit trusted.d or replace this
    // binary (docs/threat-model.md). So the signature is not checked again
    // (six seconds at 100 000 grants before the bus name), unless the store is
    // not lockboxd's alone; every other check still runs.
    const bool trust_store = store_is_ours_alone(dir);
    if (!trust_store)
        log_warning("state directory " + dir + " is not root's alone: every stored token is verified again");
    for (auto& p : state->grants.grants) {
        auto check = trust_store ? verifier_->recheck_stored(p.token) : verifier_->verify_ignoring_time(p.token);
        // A level the configuration no longer defines is refused as at install.
        std::string why =
            check.verdict != lockbox::GrantVerdict::Allow ? std::string(lockbox::grant_verdict_name(check.verdict))
            : !lockbox::access_level_rank(config_.access_levels,
                                          lockbox::effective_access_level(config_.access_levels, check.claims.access))
                ? "unknown-access-level"
                : "";
        if (!why.empty()) {
            log_warning("persisted grant " + p.jti + " no longer verifies (" + why + "); dropping it");
            if (p.state == GrantState::Active && !p.sub.empty())
                unverifiable_active_.emplace_back(p.sub, p.jti);
            dropped_grants_.push_back(p.jti);
            if (check.verdict == lockbox::GrantVerdict::UnknownKey &&
                (p.state == GrantState::Active || p.state == GrantState::Installed))
                untrusted_at_load_.emplace_back(p.sub, p.jti);
            continue;
        }
        Grant g;
        g.token = std::move(p.token);
        g.claims = std::move(check.claims);
        g.kid = std::move(check.kid);
        g.state = p.state;
        g.installed_at = p.installed_at;
        g.ended_at = p.ended_at;
        grants_.insert(std::move(g), now);
    }
    grants_.restore_revoked(state->grants.revoked);
    grants_.clear_changes();  // all of it is what the store holds

    // A bad session entry costs a warning, not the start: without it lockboxd
    // still ends every process of an engineer without a live grant.
    for (const auto& problem : sessions_.restore(std::move(state->sessions)))
        log_warning("session state: " + problem);
    return {};
}

// The store's file, its directory and StateDir belong to this process's user
// and nobody else may write them: then every row in it was written by lockboxd
// (or by root, who needs no forgery).
bool Enforcer::store_is_ours_alone(const std::string& dir) const {
    for (const std::string& path : {config_.state_dir, dir, dir + "/" + EnforcerStore::FILE_NAME}) {
        // StateDir may be a symlink (a bind of /var/lib); what lockboxd made inside it may not.
        struct stat st {};
        int r = path == config_.state_dir ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
        if (r != 0 || S_ISLNK(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
            return false;
    }
    return true;
}

// Verifying every stored token again takes seconds at 100 000 grants, and the
// processes of an engineer whose grants all ended while lockboxd was down must
// not live that long. The stored rows may only shorten access here, never
// lengthen it: an engineer none of whose rows could still be live loses every
// process at once (SIGKILL: the grace ran out while lockboxd was down).
// recover() then audits, cleans up and sweeps again with verified data.
void Enforcer::end_lapsed_before_verifying(const PersistedGrants& stored, usec_t now) {
    std::set<std::string> maybe_live;
    for (const auto& p : stored.grants)
        if ((p.state == GrantState::Active || p.state == GrantState::Installed) && p.exp > now)
            maybe_live.insert(p.sub);
    for (uid_t uid : live_uids_in_range(config_.uid_min, config_.uid_max, proc_root)) {
        auto name = uids_.name_of(uid);
        if (!name || maybe_live.count(*name))
            continue;  // an unmapped uid is recover()'s sweep_range
        std::vector<pid_t> pids = live_processes_of_uid(uid);
        if (auto st = end_processes_of_uid_now(uid); !st) {
            log_error("cannot end the processes of " + *name + ": " + st.error().message);
            continue;  // recover() tries again
        }
        audit(AuditEvent::SessionKilled, "lockboxd", nullptr,
              "processes of " + *name + " ended at start-up: no grant of theirs is live",
              {{"PIDS", join_words(pids)}, {"REASON", "ended while lockboxd was down"}});
    }
}

void Enforcer::recover() {
    usec_t now = clock_.now();
    for (const auto& [user, jti] : unverifiable_active_)
        if (!grants_.has_active_grant(user, now))
            end_access(user, jti, now, "key-withdrawn");
    unverifiable_active_.clear();
    revoke_untrusted_at_load(now);
    // Rows of grants that no longer verify go once their end has begun; were
    // the kill cut short, the sweep below finds the processes at the next start.
    if (store_ && !dropped_grants_.empty()) {
        if (auto st = store_->save_grants({}, dropped_grants_, {}); !st)
            log_error("cannot forget grants that no longer verify: " + st.error().message);
    }
    dropped_grants_.clear();
    tick();
    // Whatever still runs under an engineer uid without a live grant (a kill cut
    // short by a crash, a session whose grant ended while we were down) ends now.
    std::set<std::string> users;
    for (const auto& [_, s] : sessions_.all())
        users.insert(s.user);
    std::set<uid_t> ended;
    for (const auto& user : users)
        if (!grants_.has_active_grant(user, now)) {
            end_access(user, "", now, "recovered");
            if (auto uid = uids_.find(user))
                ended.insert(*uid);
        }
    // Every other process in the range without a live grant: mapped or not (a
    // lost map, a local account given a uid inside the range).
    sweep_range(now, "recovered", ended);
    publish_nss();
    persist_sessions();
}

std::optional<usec_t> Enforcer::tick() {
    usec_t now = clock_.now();
    auto events = grants_.advance(now);
    bool nss_dirty = nss_publish_failed_;
    bool access_ended = false;
    std::set<uid_t> ended;
    for (const auto& ev : events) {
        const Grant* g = grants_.find(ev.jti);
        if (!g)
            continue;
        switch (ev.kind) {
        case GrantEventKind::Activated:
            activate(*g);
            nss_dirty = true;
            break;
        case GrantEventKind::Warning:
            warn_sessions(*g, ev.lead);
            break;
        case GrantEventKind::Completed: {
            // The kill first: it is what the deadline is about.
            if (ev.was_active && !grants_.has_active_grant(g->claims.sub, now, g->claims.jti)) {
                end_access(g->claims.sub, g->claims.jti, g->claims.exp, "completed");
                if (auto uid = uids_.find(g->claims.sub))
                    ended.insert(*uid);
            }
            last_line_sent_.erase(g->claims.jti);  // end_access took it, or another grant goes on
            access_ended |= ev.was_active;
            audit(AuditEvent::GrantCompleted, "lockboxd", &g->claims,
                  "grant " + g->claims.jti + " ended at " + lockbox::format_rfc3339(g->claims.exp));
            if (on_grant_changed)
                on_grant_changed(g->claims.jti, "completed");
            nss_dirty |= ev.was_active;
            break;
        }
        }
    }
    // After the kills above have sent their first round: the deadline is theirs.
    if (access_ended)
        sweep_range(now, "completed", ended);
    if (!events.empty()) {
        grants_.prune(now, KEEP_ENDED);
        persist_grants();
    }
    if (nss_dirty)
        publish_nss();
    outbox_.flush();
    auto next = grants_.next_deadline();
    if (on_deadline_changed)
        on_deadline_changed(next);
    return next;
}

void Enforcer::changed() {
    auto next = grants_.next_deadline();
    if (on_deadline_changed)
        on_deadline_changed(next);
}

void Enforcer::activate(const Grant& grant) {
    const auto& c = grant.claims;
    if (auto uid = uids_.find(c.sub)) {
        if (auto st = create_home(config_.home_base, c.sub, *uid); !st)
            log_error("cannot create the home of " + c.sub + ": " + st.error().message);
    }
    audit(AuditEvent::GrantActivated, "lockboxd", &c,
          "grant " + c.jti + " for " + c.sub + " is active until " + lockbox::format_rfc3339(c.exp));
    if (on_grant_changed)
        on_grant_changed(c.jti, "active");
}

lockbox::Result<std::string> Enforcer::install(std::string_view token, const std::string& actor,
                                               const std::string& source, const std::string& claimed_id) {
    // A name lookup that could not answer (sssd restarting) defers the grant:
    // sync() asks again at the next resync. Every other refusal is final.
    auto refuse = [&](const std::string& verdict, const std::string& detail, const lockbox::GrantClaims* claims,
                      lockbox::Errc code = lockbox::Errc::GrantRefused) -> lockbox::Result<std::string> {
        std::vector<std::pair<std::string, std::string>> fields = {{"REASON", verdict}, {"SOURCE", source}};
        // Unverified claims are not repeated, but the id the approval service
        // filed the grant under lets an auditor find the request it came from.
        if (!claims && lockbox::is_valid_uuid(claimed_id))
            fields.emplace_back("REQUEST_ID", claimed_id);
        audit(AuditEvent::GrantRefused, actor, claims, "grant refused (" + verdict + "): " + detail, std::move(fields));
        return lockbox::make_error(code, verdict + ": " + detail);
    };
    if (!verifier_)
        return lockbox::make_error(lockbox::Errc::Internal, "no verifier loaded");
    auto check =
        verifier_->verify_ignoring_time(token, [this](const std::string& jti) { return grants_.is_revoked(jti); });
    bool signed_ok = check.verdict != lockbox::GrantVerdict::Malformed &&
                     check.verdict != lockbox::GrantVerdict::BadSignature &&
                     check.verdict != lockbox::GrantVerdict::UnknownKey;
    if (check.verdict != lockbox::GrantVerdict::Allow)
        return refuse(lockbox::grant_verdict_name(check.verdict), check.detail, signed_ok ? &check.claims : nullptr);
    const auto& c = check.claims;
    usec_t now = clock_.now();
    if (now >= c.exp)
        return refuse("expired", "the window ended at " + lockbox::format_rfc3339(c.exp), &c);
    if (grants_.find(c.jti))
        return c.jti;  // already installed: importing twice is harmless
    // A level this host does not define has no group, and no customer rule
    // says what it may do: refused, never read as some other level.
    const std::string level = lockbox::effective_access_level(config_.access_levels, c.access);
    if (!lockbox::access_level_rank(config_.access_levels, level))
        return refuse("unknown-access-level",
                      "access level '" + level + "' is not in [Access] Levels= of this host (" +
                          join_words(config_.access_levels) + ")",
                      &c);
    bool new_name = !uids_.find(c.sub);
    auto uid = uids_.allocate(c.sub);
    if (!uid)
        return refuse("uid-range-exhausted", uid.error().message, &c);
    if (auto st = name_is_ours(c.sub, *uid, "install", &c, /*fresh=*/true); !st) {
        if (new_name)
            uids_.release(c.sub);  // the tentative uid was never written
        if (st.error().code == lockbox::Errc::NameConflict)
            return refuse("local-account", st.error().message, &c);
        return refuse(lockbox::errc_name(st.error().code), st.error().message, &c,
                      st.error().code == lockbox::Errc::NssLookupFailed ? lockbox::Errc::GrantDeferred
                                                                        : lockbox::Errc::GrantRefused);
    }
    // The mapping is durable before the uid owns a home or a process.
    if (new_name)
        if (auto st = persist_uids(); !st) {
            uids_.release(c.sub);
            return lockbox::make_error(lockbox::Errc::Internal, st.error().message);
        }
    Grant g;
    g.token = std::string(token);
    g.claims = c;
    g.kid = check.kid;
    g.state = GrantState::Installed;
    grants_.insert(std::move(g), now);
    persist_grants();
    audit(AuditEvent::GrantInstalled, actor, &c,
          "grant " + c.jti + " for " + c.sub + " installed, access " + level + ", window " +
              lockbox::format_rfc3339(c.nbf) + " to " + lockbox::format_rfc3339(c.exp),
          {{"SOURCE", source}, {"ACCESS", level}});
    if (on_grant_changed)
        on_grant_changed(c.jti, "installed");
    tick();
    return c.jti;
}

void Enforcer::sync(const std::vector<std::pair<std::string, std::string>>& grants,
                    const std::vector<EndedGrant>& ended, const std::string& actor) {
    for (const auto& e : ended) {
        const std::string& jti = e.jti;
        if (!grants_.is_revoked(jti) || (grants_.find(jti) && grants_.find(jti)->state != GrantState::Revoked)) {
            const bool released = e.how == "released";
            std::string reason = std::string(released ? "released" : "revoked") + " through the approval service";
            if (!e.by.empty())
                reason += " by " + e.by;
            (void)revoke(jti, reason, actor, released, e.by);
        }
    }
    for (const auto& [id, token] : grants) {
        if (grants_.find(id) || grants_.is_revoked(id) || refused_ids_.count(id))
            continue;  // a refused grant is audited once, not on every resync
        // A deferred grant is asked again at the next resync; every other
        // refusal is final for this grant.
        if (auto r = install(token, actor, "approval-service", id);
            !r && r.error().code != lockbox::Errc::GrantDeferred)
            refused_ids_.insert(id);
    }
}

lockbox::Status Enforcer::revoke(const std::string& jti, const std::string& reason, const std::string& actor,
                                 bool released, const std::string& by) {
    usec_t now = clock_.now();
    auto before = grants_.revoke(jti, now);
    persist_grants();
    if (!before) {
        return lockbox::make_error(lockbox::Errc::NotFound,
                                   "no grant " + jti + " on this host (remembered as revoked)");
    }
    if (*before == GrantState::Revoked)
        return {};
    const Grant* g = grants_.find(jti);
    audit(released ? AuditEvent::GrantReleased : AuditEvent::GrantRevoked, actor, &g->claims,
          "grant " + jti + (released ? " released: " : " revoked: ") + reason, {{"REASON", reason}});
    if (on_grant_changed)
        on_grant_changed(jti, "revoked");
    if (*before == GrantState::Active) {
        std::set<uid_t> ended;
        if (!grants_.has_active_grant(g->claims.sub, now)) {
            end_access(g->claims.sub, jti, now, released ? "released" : "revoked", by.empty() ? actor : by);
            if (auto uid = uids_.find(g->claims.sub))
                ended.insert(*uid);
        }
        sweep_range(now, "revoked", ended);
        publish_nss();
    }
    changed();
    return {};
}

AccessAnswer Enforcer::check_access(const std::string& user, const std::string& service, const std::string& rhost,
                                    const std::string& tty) {
    AccessAnswer a = grants_.access(user, clock_.now());
    if (a.reason == AccessReason::NoGrant && !uids_.find(user))
        a.reason = AccessReason::NotManaged;
    if (a.reason == AccessReason::NotManaged)
        return a;  // local users are not ours to audit
    const Grant* g = a.jti.empty() ? nullptr : grants_.find(a.jti);
    // The name may have become a local or directory account since the grant
    // was installed: then the login is not the engineer's, whatever uid it has.
    auto uid = uids_.find(user);
    if (a.reason == AccessReason::Allowed && (!uid || !name_is_ours(user, *uid, "check-access", &g->claims))) {
        a.reason = AccessReason::NameConflict;
        a.jti.clear();
        a.expires = 0;
    }
    audit(a.reason == AccessReason::Allowed ? AuditEvent::AccessAllowed : AuditEvent::AccessDenied, user,
          g ? &g->claims : nullptr,
          std::string("access for ") + user + " via " + service + ": " + access_reason_name(a.reason),
          {{"REASON", access_reason_name(a.reason)}, {"SERVICE", service}, {"RHOST", rhost}, {"TTY", tty}});
    return a;
}

lockbox::Result<OpenedSession> Enforcer::open_session(const std::string& user, int32_t pid, const std::string& tty,
                                                      const std::string& rhost, const std::string& logind_session) {
    AccessAnswer a = grants_.access(user, clock_.now());
    if (a.reason != AccessReason::Allowed)
        return lockbox::make_error(lockbox::Errc::AccessDenied,
                                   std::string("no active grant for ") + user + ": " + access_reason_name(a.reason));
    const Grant* g = grants_.find(a.jti);
    auto uid = uids_.find(user);
    if (!uid)
        return lockbox::make_error(lockbox::Errc::AccessDenied, "no uid allocated for " + user);
    if (auto st = name_is_ours(user, *uid, "open-session", &g->claims); !st)
        return lockbox::make_error(lockbox::Errc::AccessDenied,
                                   std::string("the name ") + user + " is not Lockbox's: " + st.error().message);
    Session s;
    s.user = user;
    s.uid = *uids_.find(user);
    s.pid = pid;
    s.tty = tty;
    s.rhost = rhost;
    s.logind_session = logind_session;
    s.grant_id = a.jti;
    s.audit_session = audit_session_of(pid);
    s.opened_at = clock_.now();
    std::string audit_session = s.audit_session == UINT32_MAX ? "" : std::to_string(s.audit_session);
    std::string id = sessions_.add(std::move(s));
    persist_sessions();
    std::vector<std::pair<std::string, std::string>> f{{"SESSION_ID", id}, {"TTY", tty}, {"RHOST", rhost}};
    if (!audit_session.empty())
        f.emplace_back("AUDIT_SESSION", audit_session);
    audit(AuditEvent::SessionOpened, user, &g->claims, "session " + id + " of " + user + " opened", f);
    return OpenedSession{id, a.jti, g->claims.ticket, g->claims.exp};
}

lockbox::Status Enforcer::close_session(const std::string& id) {
    auto s = sessions_.remove(id);
    if (!s)
        return lockbox::make_error(lockbox::Errc::NotFound, "no session " + id);
    persist_sessions();
    const Grant* g = grants_.find(s->grant_id);
    audit(AuditEvent::SessionClosed, s->user, g ? &g->claims : nullptr, "session " + id + " of " + s->user + " closed",
          {{"SESSION_ID", id}});
    return {};
}

std::string Enforcer::authorized_keys(const std::string& user) {
    std::string out;
    auto active = grants_.active_grants_of(user, clock_.now());
    if (active.empty())
        return out;
    // sshd resolved the user before asking: if any other source knows the name
    // (a local account added during the grant, a directory entry), these keys
    // would open that account.
    auto uid = uids_.find(user);
    if (!uid || !name_is_ours(user, *uid, "authorized-keys", &active.front()->claims))
        return out;
    for (const Grant* g : active) {
        // sshd reads expiry-time without a zone as local time; the Z makes it UTC.
        std::string rfc = lockbox::format_rfc3339(g->claims.exp);  // YYYY-MM-DDTHH:MM:SSZ
        std::string stamp;
        for (char ch : rfc)
            if (ch >= '0' && ch <= '9')
                stamp += ch;
        stamp += 'Z';
        for (const auto& key : g->claims.ssh_keys)
            out += config_.key_options + (config_.key_options.empty() ? "" : ",") + "expiry-time=\"" + stamp + "\" " +
                   key + "\n";
    }
    return out;
}

void Enforcer::send_audit(lockbox::AuditRecord record) { outbox_.send(std::move(record)); }

void Enforcer::audit(AuditEvent event, const std::string& actor, const lockbox::GrantClaims* claims,
                     std::string message, std::vector<std::pair<std::string, std::string>> fields) {
    lockbox::AuditRecord rec(event, actor);
    rec.message(std::move(message));
    if (claims)
        rec.request(claims->jti, claims->aud, claims->ticket, claims->sub);
    for (auto& [k, v] : fields)
        rec.field(k, std::move(v));
    outbox_.send(std::move(rec));
}

// Each writes what changed since the last successful write, in one small
// transaction. What a failed write did not store stays in the registry's
// changes and goes with the next one.
void Enforcer::persist_grants() {
    const GrantChanges& ch = grants_.changes();
    if (!store_ || ch.empty())
        return;
    std::vector<PersistedGrant> rows;
    rows.reserve(ch.written.size());
    for (const auto& jti : ch.written)
        if (const Grant* g = grants_.find(jti))
            rows.push_back(GrantRegistry::persisted(*g));
    std::vector<std::string> removed(ch.removed.begin(), ch.removed.end());
    if (auto st = store_->save_grants(rows, removed, ch.revoked); !st) {
        log_error("cannot persist grants: " + st.error().message);
        return;
    }
    grants_.clear_changes();
}

void Enforcer::persist_sessions() {
    const SessionChanges& ch = sessions_.changes();
    if (!store_ || ch.empty())
        return;
    std::vector<Session> rows;
    for (const auto& id : ch.written)
        if (const Session* s = sessions_.find(id))
            rows.push_back(*s);
    std::vector<std::string> removed(ch.removed.begin(), ch.removed.end());
    if (auto st = store_->save_sessions(rows, removed); !st) {
        log_error("cannot persist sessions: " + st.error().message);
        return;
    }
    sessions_.clear_changes();
}

lockbox::Status Enforcer::persist_uids() {
    if (!store_)
        return lockbox::make_error(lockbox::Errc::Internal, "no state store opened");
    if (auto st = store_->save_uids(uids_.added()); !st)
        return st;
    uids_.clear_added();
    return {};
}

}  // namespace lockboxd

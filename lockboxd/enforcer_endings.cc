// How an engineer's access ends: the SIGTERM notice and terminal warnings
// ahead of the end, the kill (session_killer.h) when the last grant ends, is
// revoked or a session is killed, and what follows it: session-killed audit,
// home and leftovers removed (docs/enforcement.md, "Sessions and the kill").
#include <algorithm>
#include <csignal>

#include "enforcer.h"
#include "home_provisioner.h"
#include "join_words.h"
#include "log.h"
#include "process_table.h"
#include "terminal_notice.h"
#include "terminal_warner.h"
#include "time_format.h"

namespace lockboxd {

using lockbox::AuditEvent;
using lockbox::usec_t;

void Enforcer::warn_sessions(const Grant& grant, usec_t lead) {
    auto uid = uids_.find(grant.claims.sub);
    if (!uid || !uids_.in_range(*uid))
        return;
    // The last line goes out once, ahead of the kill: with the KillGrace
    // SIGTERM, which ends sshd's session process too, so the line precedes it;
    // without a grace, at the notice lead, NOTICE_PAUSE before the kill is due
    // (which then starts at once: end_access). None while another grant of
    // theirs goes on.
    bool grace = config_.kill_grace > 0 && lead <= config_.kill_grace;
    bool line_now = (grace || lead == notice_lead(config_)) &&
                    !grants_.has_active_grant(grant.claims.sub, clock_.now(), grant.claims.jti) &&
                    last_line_sent_.insert(grant.claims.jti).second;
    std::string last_line = line_now ? access_ended_text(grant.claims.ticket, "expired") : "";
    // KillGrace before exp: SIGTERM, from root, so programs that handle it can
    // end cleanly. A lead that passed while lockboxd was down folds into a later
    // one, so any lead inside the grace sends it.
    if (grace) {
        auto sigterm = [this, u = *uid, sub = grant.claims.sub, lead] {
            size_t n = signal_processes_of_uid(u, SIGTERM);
            log_info("SIGTERM to " + std::to_string(n) + " processes of " + sub + ", " +
                     std::to_string(lead / lockbox::USEC_PER_MSEC) + " ms before the end");
        };
        if (line_now)
            last_line_then(*uid, grant.claims.sub, last_line, sigterm);
        else
            sigterm();
    } else if (line_now) {
        tell_engineer(*uid, grant.claims.sub, last_line);
    }
    if (std::find(config_.warn_before.begin(), config_.warn_before.end(), lead) == config_.warn_before.end())
        return;  // the grace or the notice lead alone: no warning line
    tell_engineer(*uid, grant.claims.sub, expiry_warning_text(grant.claims.jti, lead / lockbox::USEC_PER_SEC));
}

namespace {

// The "(…)" of the last line on the engineer's terminals.
std::string why_access_ended(const std::string& cause, const std::string& by) {
    if (cause == "completed")
        return "expired";
    if (cause == "revoked" || cause == "released")
        return by.empty() ? cause : cause + " by " + by;
    if (cause == "key-withdrawn")
        return "the grant's signing key is no longer trusted";
    return "no grant of yours is live";
}

}  // namespace

void Enforcer::end_access(const std::string& user, const std::string& jti, usec_t deadline, const char* cause,
                          const std::string& by) {
    auto uid = uids_.find(user);
    if (!uid || !uids_.in_range(*uid))
        return;  // never sweep a uid outside the lockbox range
    std::vector<Session> sessions = sessions_.of_user(user);
    // Before anything ends: the engineer learns why the terminal goes dead
    // (unless the grace's SIGTERM was preceded by it already).
    auto kill = [this, user, u = *uid, jti, deadline, sessions, why = std::string(cause)] {
        start_kill(user, u, jti, deadline, sessions, why);
    };
    if (!jti.empty() && last_line_sent_.erase(jti) > 0) {
        kill();
        return;
    }
    const Grant* g = jti.empty() ? nullptr : grants_.find(jti);
    last_line_then(*uid, user, access_ended_text(g ? g->claims.ticket : "", why_access_ended(cause, by)), kill);
}

size_t Enforcer::tell_engineer(uid_t uid, const std::string& user, const std::string& text) {
    std::vector<std::string> pam_ttys;
    for (const auto& s : sessions_.of_user(user))
        pam_ttys.push_back(s.tty);
    return write_to_terminals(engineer_terminals(uid, pam_ttys), uid, text);
}

void Enforcer::last_line_then(uid_t uid, const std::string& user, const std::string& text, std::function<void()> next) {
    // The writes never wait (terminal_notice.h); the pause after them is
    // fixed, whatever the terminals do, and only taken when a line went out.
    size_t told = tell_engineer(uid, user, text);
    sd_event_source* raw = nullptr;
    if (told == 0 || !event_ ||
        sd_event_add_time_relative(event_, &raw, CLOCK_MONOTONIC, NOTICE_PAUSE, 1000, on_notice_pause, this) < 0) {
        next();
        return;
    }
    sd_event_source_set_description(raw, "notice-pause");
    // At deadline priority, as the kill's own timers (session_killer.cc).
    sd_event_source_set_priority(raw, SD_EVENT_PRIORITY_IMPORTANT);
    paused_kills_.emplace(raw, std::make_pair(lockbox::EventSourcePtr(raw), std::move(next)));
}

int Enforcer::on_notice_pause(sd_event_source* s, uint64_t /*usec*/, void* userdata) {
    auto* self = static_cast<Enforcer*>(userdata);
    auto it = self->paused_kills_.find(s);
    if (it == self->paused_kills_.end())
        return 0;
    auto next = std::move(it->second.second);
    self->paused_kills_.erase(it);  // sd-event frees a dispatching source after its callback
    next();
    return 0;
}

void Enforcer::start_kill(const std::string& user, uid_t uid, const std::string& jti, usec_t deadline,
                          const std::vector<Session>& sessions, const std::string& cause) {
    if (LogindClient::logind_running()) {
        for (const auto& s : sessions)
            logind_.terminate_session(s.logind_session);
        logind_.kill_user(uid, SIGTERM);
    }
    log_info("ending access of " + user + " (" + cause + ")");
    killer_.kill_uid(uid, [this, user, jti, deadline, sessions](const KillReport& report) {
        after_kill(user, jti, deadline, sessions, report);
    });
}

void Enforcer::after_kill(const std::string& user, const std::string& jti, usec_t deadline,
                          const std::vector<Session>& sessions, const KillReport& report) {
    // Negative when the kill started KillLead ahead and was over before the end.
    long long delay_ms = (static_cast<long long>(report.finished_at) - static_cast<long long>(deadline)) /
                         static_cast<long long>(lockbox::USEC_PER_MSEC);
    std::string when = delay_ms >= 0 ? std::to_string(delay_ms) + " ms after the end"
                                     : std::to_string(-delay_ms) + " ms before the end";
    std::string pids = join_words(report.pids);
    log_info("kill of " + user + ": " + describe_timing(report, deadline));
    const Grant* g = jti.empty() ? nullptr : grants_.find(jti);
    auto fields_for = [&](const std::string& sid) {
        std::vector<std::pair<std::string, std::string>> f{{"PIDS", pids}, {"DELAY_MS", std::to_string(delay_ms)}};
        if (!sid.empty())
            f.emplace_back("SESSION_ID", sid);
        if (!report.stragglers.empty())
            f.emplace_back("REASON", "stragglers: " + join_words(report.stragglers));
        return f;
    };
    for (const auto& s : sessions) {
        // Reported even when sshd closed it (CloseSession) while the kill ran,
        // which is the usual order on a real host; once only, though another
        // end_access of the same uid may have joined this kill.
        if (!note_kill_reported(s.id))
            continue;
        const Grant* sg = g ? g : grants_.find(s.grant_id);
        audit(AuditEvent::SessionKilled, "lockboxd", sg ? &sg->claims : nullptr,
              "session " + s.id + " of " + user + " ended, " + when, fields_for(s.id));
        sessions_.remove(s.id);
        if (on_session_killed)
            on_session_killed(s.id, s.grant_id);
    }
    if (sessions.empty() && !report.pids.empty())
        audit(AuditEvent::SessionKilled, "lockboxd", g ? &g->claims : nullptr,
              "processes of " + user + " ended, " + when, fields_for(""));
    if (!report.stragglers.empty())
        log_error("processes of " + user + " survived SIGKILL: " + join_words(report.stragglers));
    persist_sessions();
    if (grants_.has_active_grant(user, clock_.now()))
        return;  // a new grant started meanwhile: keep the home
    auto uid = uids_.find(user);
    if (!config_.keep_home)
        if (auto st = remove_home(config_.home_base, user); !st)
            log_error("cannot remove the home of " + user + ": " + st.error().message);
    if (uid) {
        auto left = remove_leftovers(*uid, user, leftover_places);
        for (const auto& p : left.problems)
            log_warning("leftover of " + user + ": " + p);
    }
}

bool Enforcer::note_kill_reported(const std::string& session_id) {
    if (!kill_reported_.insert(session_id).second)
        return false;
    kill_reported_order_.push_back(session_id);
    if (kill_reported_order_.size() > MAX_KILL_REPORTED) {  // session ids never recur: forget the oldest
        kill_reported_.erase(kill_reported_order_.front());
        kill_reported_order_.pop_front();
    }
    return true;
}

lockbox::Status Enforcer::kill_session(const std::string& id, const std::string& actor) {
    const Session* s = sessions_.find(id);
    if (!s)
        return lockbox::make_error(lockbox::Errc::NotFound, "no session " + id);
    Session copy = *s;
    usec_t now = clock_.now();
    log_info("session " + id + " killed on request of " + actor);
    logind_.terminate_session(copy.logind_session);
    auto done = [this, copy, now](const KillReport& r) { after_kill(copy.user, copy.grant_id, now, {copy}, r); };
    std::vector<Session> mine = sessions_.of_user(copy.user);
    if (mine.size() == 1) {
        killer_.kill_uid(copy.uid, done);
        return {};
    }
    // Other sessions of the engineer stay. The audit session holds what escaped
    // with setsid; it is only usable when no other session shares it.
    SessionScope scope;
    bool audit_unique =
        copy.audit_session != UINT32_MAX && std::none_of(mine.begin(), mine.end(), [&](const Session& o) {
            return o.id != copy.id && o.audit_session == copy.audit_session;
        });
    if (audit_unique)
        scope.audit_session = copy.audit_session;
    else if (copy.pid > 0)
        scope.sid = ::getsid(copy.pid);
    if (scope.audit_session != UINT32_MAX || scope.sid > 0)
        killer_.kill_session(scope, copy.uid, done);
    else
        done(KillReport{copy.uid, {}, {}, clock_.now()});  // its leader is gone and nothing else marks it
    return {};
}

}  // namespace lockboxd

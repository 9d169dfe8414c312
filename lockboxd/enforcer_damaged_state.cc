// Fail closed on damaged state (docs/enforcement.md, "Damaged or missing
// state"). Without a trustworthy enforcer.db lockboxd does not know which uid
// belongs to whom or which grant is live, so it cannot tell a legitimate
// session from one that outlived its grant: it ends every process in the
// lockbox uid range, keeps the damaged file for forensics and starts with no
// grants, so nobody is admitted until grants are re-imported or resynced from
// the approval service. Refusing to start instead would leave every process
// of every engineer running with nothing enforcing.
#include <algorithm>
#include <csignal>
#include <set>
#include <cstdio>
#include <ctime>

#include <sys/stat.h>

#include "audit.h"
#include "enforcer.h"
#include "enforcer_store.h"
#include "join_words.h"
#include "log.h"
#include "nss_cache_publisher.h"
#include "process_table.h"
#include "session_killer.h"

namespace lockboxd {

using lockbox::AuditEvent;

namespace {

// end_processes_of_uid_now() ends every process the uid has, from root; a uid
// that appears in the range meanwhile is caught by the next pass.
constexpr int MAX_SWEEP_PASSES = 20;
// The audit record names at most this many pids (a fork bomb has more).
constexpr size_t MAX_REPORTED_PIDS = 4096;

std::string utc_stamp(lockbox::usec_t now) {
    time_t secs = static_cast<time_t>(now / lockbox::USEC_PER_SEC);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace

Enforcer::RangeSweep Enforcer::kill_every_process_in_range() {
    RangeSweep out;
    std::set<uid_t> seen;
    std::set<pid_t> reported;
    for (int pass = 0; pass < MAX_SWEEP_PASSES; ++pass) {
        auto uids = live_uids_in_range(config_.uid_min, config_.uid_max);
        if (uids.empty()) {
            out.complete = true;
            break;
        }
        for (uid_t uid : uids) {
            for (pid_t p : live_processes_of_uid(uid))
                if (out.pids.size() < MAX_REPORTED_PIDS && reported.insert(p).second)
                    out.pids.push_back(p);
            seen.insert(uid);
            // From root, freeze-then-kill: the engineer cannot stop it (session_killer.h).
            if (auto st = end_processes_of_uid_now(uid); !st)
                log_error("cannot end the processes of uid " + std::to_string(uid) + ": " + st.error().message);
        }
    }
    out.uids.assign(seen.begin(), seen.end());
    return out;
}

lockbox::Result<EnforcerState> Enforcer::open_store(const std::string& dir) {
    struct stat st {};
    const bool existed = ::lstat((dir + "/" + EnforcerStore::FILE_NAME).c_str(), &st) == 0;
    // The NSS cache lives in /run: it exists only if a lockboxd ran since boot,
    // which is the only way engineer processes can be running now.
    const bool ran_since_boot = ::lstat(config_.nss_cache_path().c_str(), &st) == 0;
    auto state = load_store(dir);
    if (state) {
        // A store created just now knows no uid: whatever runs in the range
        // belonged to a state that is gone (deleted by hand, lost disk).
        if (!existed && ran_since_boot && state->uids.empty() &&
            !live_uids_in_range(config_.uid_min, config_.uid_max).empty()) {
            log_error("enforcer state is missing while processes run in the lockbox uid range");
            audit_damaged(dir + "/" + EnforcerStore::FILE_NAME + " was missing", "", kill_every_process_in_range());
        }
        return state;
    }
    // A newer schema is a downgrade the operator made, not damage: moving it
    // aside would lose the state the newer release still reads.
    if (state.error().code == lockbox::Errc::StoreTooNew)
        return state.error();
    const std::string why = state.error().message;
    store_.reset();
    uids_ = UidAllocator(config_.uid_min, highest_engineer_uid(config_));
    log_error("enforcer state is damaged: " + why);
    // The kill first: it must not depend on anything below succeeding.
    RangeSweep sweep = kill_every_process_in_range();
    auto moved = EnforcerStore::quarantine(dir, utc_stamp(clock_.now()));
    if (!moved) {
        audit_damaged(why, "", sweep);
        return lockbox::make_error(moved.error().code, why + "; " + moved.error().message);
    }
    audit_damaged(why, *moved, sweep);
    auto fresh = load_store(dir);
    if (!fresh)
        return lockbox::make_error(fresh.error().code,
                                   "cannot start a new state after " + why + ": " + fresh.error().message);
    return fresh;
}

void Enforcer::audit_damaged(const std::string& why, const std::string& moved_to, const RangeSweep& sweep) {
    std::string message = why + "; " + (moved_to.empty() ? "nothing kept" : "kept as " + moved_to) +
                          "; every process in the lockbox uid range ended (" + std::to_string(sweep.pids.size()) +
                          (sweep.pids.size() >= MAX_REPORTED_PIDS ? " or more" : "") +
                          " processes); no engineer is admitted until grants are re-imported or resynced";
    if (!sweep.complete)
        message += "; processes were still starting in the range after the last pass";
    audit(AuditEvent::StateDamaged, "lockboxd", nullptr, std::move(message),
          {{"REASON", why},
           {"MOVED_TO", moved_to},
           {"UIDS", join_words(sweep.uids)},
           {"PIDS", join_words(sweep.pids)},
           {"COMPLETE", sweep.complete ? "yes" : "no"}});
}

lockbox::Result<EnforcerState> Enforcer::load_store(const std::string& dir) {
    auto store = EnforcerStore::open(dir);
    if (!store)
        return store.error();
    store_ = std::move(*store);
    auto state = store_->load();
    if (!state)
        return state.error();
    // The top of the range became the gids of the grantees and access level
    // groups (nss_cache_publisher.h); a map from an older release may hold
    // one. That engineer gets a new uid at the next grant; their processes
    // under the old one are in the range and swept like any other without a grant.
    std::erase_if(state->uids, [&](const auto& entry) {
        if (entry.second <= highest_engineer_uid(config_))
            return false;
        log_warning("uid " + std::to_string(entry.second) + " of " + entry.first +
                    " is now a Lockbox group's gid; a new uid is allocated at the next grant");
        return true;
    });
    if (auto st = uids_.restore(state->uids); !st)
        return lockbox::make_error(st.error().code, store_->path() + ": uid map: " + st.error().message);
    return state;
}

}  // namespace lockboxd

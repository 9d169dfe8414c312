#include "session_killer.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "process_freezer.h"
#include "process_table.h"
#include "sd_handles.h"

namespace lockboxd {

namespace {

using lockbox::monotonic_now;

constexpr lockbox::usec_t POLL_USEC = 5 * lockbox::USEC_PER_MSEC;
// While killed processes exit: a poll of their pidfds, no /proc scan.
constexpr lockbox::usec_t EXIT_POLL_USEC = lockbox::USEC_PER_MSEC;
// After SIGKILL only uninterruptible sleep can hold a process; give it this long.
constexpr lockbox::usec_t GIVE_UP_AFTER = 5 * lockbox::USEC_PER_SEC;
// end_processes_of_uid_now: rounds without a loop, about a second in all.
constexpr int NOW_ROUNDS = 200;

PidMatch of_uid(uid_t uid) {
    return [uid](pid_t pid) { return is_live_process_of_uid(pid, uid); };
}

}  // namespace

size_t signal_processes_of_uid(uid_t uid, int sig) {
    if (uid == 0)
        return 0;
    return signal_matching(live_processes_of_uid(uid), of_uid(uid), sig);
}

lockbox::Status end_processes_of_uid_now(uid_t uid) {
    if (uid == 0)
        return lockbox::make_error(lockbox::Errc::Refused, "refusing to end the processes of uid 0");
    kill_user_slice(uid);
    PidScan scan = [uid] { return live_processes_of_uid(uid); };
    Claimed claimed;
    for (int i = 0; i < NOW_ROUNDS; i++) {
        std::vector<pid_t> live = scan();
        if (live.empty())
            return {};
        freeze_then_kill(std::move(live), scan, of_uid(uid), claimed);
        struct timespec ts {
            0, POLL_USEC * 1000
        };
        nanosleep(&ts, nullptr);
    }
    return lockbox::make_error(lockbox::Errc::ProcessFailed,
                               "processes of uid " + std::to_string(uid) + " survived SIGKILL");
}

std::string describe_timing(const KillReport& r, lockbox::usec_t since) {
    auto ms = [since](lockbox::usec_t t) {
        long long d = static_cast<long long>(t) - static_cast<long long>(since);
        char buf[32];
        snprintf(buf, sizeof buf, "%+.1f ms", static_cast<double>(d) / 1000.0);
        return std::string(buf);
    };
    std::string text = "first signal " + ms(r.started_at);
    if (r.rounds > 0)
        text += ", SIGKILL to all it found " + ms(r.first_kill_sent_at);
    return text + ", last gone " + ms(r.finished_at) + ", " + std::to_string(r.pids.size()) + " processes, " +
           std::to_string(r.rounds) + " rounds";
}

// While a kill runs lockboxd itself runs at nice -20: the processes it races
// (an engineer's CPU burners before they are stopped, the sshd monitors and
// clients their deaths wake) must not take the CPU the rounds need. Restored
// when the last kill ends. Without CAP_SYS_NICE it stays as it was.
class SessionKiller::DeadlinePriority {
public:
    DeadlinePriority() {
        errno = 0;
        int now = ::getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && ::setpriority(PRIO_PROCESS, 0, -20) == 0)
            saved_ = now;
    }
    ~DeadlinePriority() {
        if (saved_)
            ::setpriority(PRIO_PROCESS, 0, *saved_);
    }
    DeadlinePriority(const DeadlinePriority&) = delete;
    DeadlinePriority& operator=(const DeadlinePriority&) = delete;

private:
    std::optional<int> saved_;
};

struct SessionKiller::Job {
    // Live pids now; adds pids the kill already turned into zombies to *dead.
    std::function<std::vector<pid_t>(std::vector<pid_t>* dead)> scan;
    PidMatch match;   // still one of the job's processes (checked through a pidfd)
    Claimed claimed;  // killed, maybe still exiting
    uid_t uid = 0;
    lockbox::usec_t started = 0;     // monotonic
    lockbox::usec_t started_at = 0;  // realtime, for the report
    lockbox::usec_t first_kill_sent_at = 0;
    size_t rounds = 0;
    std::set<pid_t> seen;
    std::vector<Done> waiters;
    lockbox::EventSourcePtr timer;
    SessionKiller* owner = nullptr;
    std::string key;
    bool first_round = false;
};

SessionKiller::SessionKiller(sd_event* event, const lockbox::Clock& clock) : event_(event), clock_(clock) {}

SessionKiller::~SessionKiller() = default;

void SessionKiller::kill_uid(uid_t uid, Done done) {
    auto job = std::make_unique<Job>();
    job->uid = uid;
    job->scan = [uid](std::vector<pid_t>* dead) { return live_processes_of_uid(uid, "/proc", dead); };
    job->match = of_uid(uid);
    // cgroup v2 only; on v1 (and for what lives outside the slice) the rounds do it.
    if (uid != 0)
        kill_user_slice(uid);
    start("uid:" + std::to_string(uid), std::move(job), std::move(done));
}

void SessionKiller::kill_session(const SessionScope& scope, uid_t uid, Done done) {
    auto job = std::make_unique<Job>();
    job->uid = uid;
    // Not the whole uid: that would reach the engineer's other sessions. Every
    // round rescans, so children forked since the last round end too.
    job->scan = [scope, uid](std::vector<pid_t>*) { return live_processes_in_session(scope, uid); };
    job->match = [scope, uid](pid_t pid) { return is_live_process_in_session(pid, scope, uid); };
    std::string key = scope.audit_session != UINT32_MAX ? "audit:" + std::to_string(scope.audit_session)
                                                        : "sid:" + std::to_string(scope.sid);
    start(key, std::move(job), std::move(done));
}

void SessionKiller::start(const std::string& key, std::unique_ptr<Job> job, Done done) {
    if (auto it = jobs_.find(key); it != jobs_.end()) {
        it->second->waiters.push_back(std::move(done));
        return;
    }
    job->started = monotonic_now();
    job->started_at = clock_.now();
    job->waiters.push_back(std::move(done));
    job->owner = this;
    job->key = key;
    sd_event_source* raw = nullptr;
    if (event_ && sd_event_add_time(event_, &raw, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, job.get()) >= 0) {
        job->timer.reset(raw);
        // Ahead of bus calls (CloseSession from every dying login arrives now).
        sd_event_source_set_priority(raw, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_enabled(raw, SD_EVENT_OFF);
    }
    job->first_round = true;
    if (jobs_.empty())
        priority_ = std::make_unique<DeadlinePriority>();
    jobs_.emplace(key, std::move(job));
    step(key);
}

void SessionKiller::step(const std::string& key) {
    for (;;) {
        auto it = jobs_.find(key);
        if (it == jobs_.end())
            return;
        lockbox::usec_t wait = round(*it->second);
        if (wait == 0)
            return;  // finished
        Job& job = *it->second;
        if (!job.timer) {
            // No loop (unit tests without one): wait in place, bounded by the same limit.
            struct timespec ts {
                0, static_cast<long>(wait * 1000)
            };
            nanosleep(&ts, nullptr);
            continue;
        }
        sd_event_source_set_time(job.timer.get(), static_cast<uint64_t>(monotonic_now() + wait));
        sd_event_source_set_enabled(job.timer.get(), SD_EVENT_ONESHOT);
        return;
    }
}

lockbox::usec_t SessionKiller::round(Job& job) {
    bool late = monotonic_now() - job.started > GIVE_UP_AFTER;
    // What was killed is still exiting: its pidfds say when, at no /proc cost.
    if (drop_exited(job.claimed) > 0 && !late)
        return EXIT_POLL_USEC;
    std::vector<pid_t> dead;
    std::vector<pid_t> live = job.scan(job.first_round ? &dead : nullptr);
    job.seen.insert(live.begin(), live.end());
    job.seen.insert(dead.begin(), dead.end());
    job.first_round = false;
    if (live.empty()) {
        finish(job.key, {});
        return 0;
    }
    if (late) {
        finish(job.key, std::move(live));
        return 0;
    }
    PidScan scan = [&job] { return job.scan(nullptr); };
    FreezeRound r = freeze_then_kill(std::move(live), scan, job.match, job.claimed);
    if (job.rounds++ == 0)
        job.first_kill_sent_at = clock_.now();
    job.seen.insert(r.pids.begin(), r.pids.end());  // with what forked during the freeze
    // Nothing claimed: what the scan saw was gone or not the job's by the time
    // it was checked; look again after the usual pause.
    return job.claimed.empty() ? POLL_USEC : EXIT_POLL_USEC;
}

void SessionKiller::finish(const std::string& key, std::vector<pid_t> stragglers) {
    auto it = jobs_.find(key);
    if (it == jobs_.end())
        return;
    std::unique_ptr<Job> job = std::move(it->second);
    jobs_.erase(it);
    if (jobs_.empty())
        priority_.reset();
    KillReport report;
    report.uid = job->uid;
    report.pids.assign(job->seen.begin(), job->seen.end());
    report.stragglers = std::move(stragglers);
    report.finished_at = clock_.now();
    report.started_at = job->started_at;
    report.first_kill_sent_at = job->first_kill_sent_at;
    report.rounds = job->rounds;
    // Waiters may start new kills; the job is already out of the map.
    for (auto& done : job->waiters)
        if (done)
            done(report);
}

int SessionKiller::on_timer(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    auto* job = static_cast<Job*>(userdata);
    job->owner->step(job->key);
    return 0;
}

}  // namespace lockboxd

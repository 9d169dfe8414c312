// Ends every process of an engineer, or of one of their sessions, from root
// (an engineer's processes include those whose login uid is theirs, so what
// they run through sudo as root ends with them; process_table.h):
// rounds of freeze-then-kill (process_freezer.h) until /proc shows no live
// process left; zombies count as gone. Between rounds the killed processes'
// pidfds are polled (every 1 ms) until all have exited; only then is /proc
// scanned again, so a kill of 200 processes costs three scans, not one per
// poll. Nothing here runs as the engineer
// or waits for anything the engineer can signal: a target that stops its own
// processes (kill(-1, SIGSTOP)) or ignores SIGTERM changes nothing. Where the
// host has cgroup v2, user-UID.slice's cgroup.kill goes first.
//
// SIGTERM is not part of the kill: [Policy] KillGrace sends it ahead of the end
// (signal_processes_of_uid), so the kill itself is at the deadline.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

#include <systemd/sd-event.h>

#include "clock.h"
#include "process_table.h"
#include "result.h"

namespace lockboxd {

// sig to every live process of uid, once, from root (the KillGrace notice).
// Returns how many were signalled; uid 0 is refused (0).
size_t signal_processes_of_uid(uid_t uid, int sig);
// Freeze-then-kill rounds until no process of uid is left or about a second
// passed, without an event loop (start-up). Error: uid 0, or some survived.
lockbox::Status end_processes_of_uid_now(uid_t uid);

struct KillReport {
    uid_t uid = 0;
    std::vector<pid_t> pids;          // every live process seen during the kill
    std::vector<pid_t> stragglers;    // still alive when the killer gave up
    lockbox::usec_t finished_at = 0;  // realtime, when /proc first showed none left
    // Where the time went (realtime): the kill's start, the end of its first
    // round of SIGKILLs, and how many freeze-then-kill rounds it took.
    lockbox::usec_t started_at = 0;
    lockbox::usec_t first_kill_sent_at = 0;
    size_t rounds = 0;
};

// "first signal +A ms, SIGKILL to all it found +B ms, last gone +C ms, R rounds",
// each relative to since (realtime: a grant's end). The breakdown bench_e2e and
// an operator read in the journal.
std::string describe_timing(const KillReport& report, lockbox::usec_t since);

class SessionKiller {
public:
    using Done = std::function<void(const KillReport&)>;

    SessionKiller(sd_event* event, const lockbox::Clock& clock);
    ~SessionKiller();

    // Every process of uid. If a kill of this uid runs already, done joins it.
    // The first round is sent before this returns.
    void kill_uid(uid_t uid, Done done);
    // Processes of one login session owned by uid (see SessionScope); used by
    // KillSession when the engineer has other sessions that stay.
    void kill_session(const SessionScope& scope, uid_t uid, Done done);

    size_t running() const { return jobs_.size(); }

private:
    struct Job;
    class DeadlinePriority;
    void start(const std::string& key, std::unique_ptr<Job> job, Done done);
    void step(const std::string& key);
    // One round; returns how long to wait before the next, 0 when finished.
    lockbox::usec_t round(Job& job);
    void finish(const std::string& key, std::vector<pid_t> stragglers);
    static int on_timer(sd_event_source* s, uint64_t usec, void* userdata);

    sd_event* event_;
    const lockbox::Clock& clock_;
    std::map<std::string, std::unique_ptr<Job>> jobs_;
    std::unique_ptr<DeadlinePriority> priority_;  // while jobs_ is not empty
};

}  // namespace lockboxd

// Ends every process of an engineer. A /proc scan alone loses to a process that
// forks faster than the scan, so each round forks a child that becomes the
// engineer (groups, gid, uid) and calls kill(-1, SIG): the kernel delivers to
// every process that uid may signal in one operation under the tasklist lock,
// so nothing forks past it. No execve after the uid switch, because that fails
// once the engineer is over RLIMIT_NPROC (the fork-bomb case). Rounds repeat
// (SIGTERM until the configured grace, then SIGKILL) until /proc shows no live
// process of the uid; zombies count as gone.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

#include "clock.h"
#include "process_table.h"
#include "result.h"
#include "unique_handles.h"

namespace lockboxd {

// One round: fork, drop to uid/gid with no supplementary groups, kill(-1, sig).
lockbox::Status signal_every_process_of_uid(uid_t uid, gid_t gid, int sig);

struct KillReport {
    uid_t uid = 0;
    std::vector<pid_t> pids;         // every live process seen during the kill
    std::vector<pid_t> stragglers;   // still alive when the killer gave up
    lockbox::usec_t finished_at = 0; // realtime, when /proc first showed none left
};

class SessionKiller {
public:
    using Done = std::function<void(const KillReport&)>;

    SessionKiller(sd_event* event, const lockbox::Clock& clock, lockbox::usec_t grace);
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
    void start(const std::string& key, std::unique_ptr<Job> job, Done done);
    void step(const std::string& key);
    void finish(const std::string& key, std::vector<pid_t> stragglers);
    static int on_timer(sd_event_source* s, uint64_t usec, void* userdata);

    sd_event* event_;
    const lockbox::Clock& clock_;
    lockbox::usec_t grace_;
    std::map<std::string, std::unique_ptr<Job>> jobs_;
};

}  // namespace lockboxd

// Ending a set of processes from root so that nothing those processes do can
// hold the kill up. Every signal comes from lockboxd itself (root), never from a
// child that becomes the target's uid: anything running as that uid can be
// stopped by the target (kill(-1, SIGSTOP)), and a daemon that waited for such
// a child would stop enforcing for everyone.
//
// A round first freezes: SIGSTOP to every process the scan finds, then to
// their children (/proc/PID/task/TID/children; a full /proc scan where the
// kernel lacks those files), until a pass finds no process it has not stopped. A stopped process
// cannot fork, and a fork that races the SIGSTOP either finished before it (the
// child is in the next scan) or is restarted by the kernel with the signal
// pending, so the rescans converge even against a fork bomb. Then SIGKILL to
// all of them; SIGKILL also ends a stopped process. A process continued by one
// not yet stopped, or started by a parent outside the set, is caught by the
// next round (the caller repeats rounds until its full scan is empty).
//
// Signals go through a pidfd opened before the process is checked again, so a
// pid that was reused between the scan and the signal is never signalled.
#pragma once

#include <functional>
#include <map>
#include <sys/types.h>
#include <vector>

#include "libc_handles.h"

namespace lockboxd {

using PidScan = std::function<std::vector<pid_t>()>;
using PidMatch = std::function<bool(pid_t)>;

// sig to each of pids that still matches; returns how many were signalled.
size_t signal_matching(const std::vector<pid_t>& pids, const PidMatch& match, int sig);

// pidfds of the processes a kill has stopped and sent SIGKILL, by pid. A pidfd
// turns readable when its process has exited, so the kill waits for these
// without scanning /proc again.
using Claimed = std::map<pid_t, lockbox::UniqueFd>;

struct FreezeRound {
    std::vector<pid_t> pids;  // every process this round stopped
    size_t killed = 0;        // processes stopped, then sent SIGKILL
    size_t passes = 0;        // scans made to reach a fixed point (1 when nothing forked)
    bool converged = false;
};
// One round as above, starting from live (the caller's scan). Processes in
// claimed that have not exited yet were killed already and are skipped; what
// this round kills is added to claimed.
FreezeRound freeze_then_kill(std::vector<pid_t> live, const PidScan& scan, const PidMatch& match, Claimed& claimed);

// Drops the processes of claimed that have exited; returns how many remain.
size_t drop_exited(Claimed& claimed);

// Where the host runs the unified cgroup hierarchy (cgroup v2, kernel >= 5.14),
// writes 1 to user.slice/user-UID.slice/cgroup.kill: the kernel kills every
// process in the slice in one operation. Returns false when there is no such
// file (cgroup v1, no slice for the uid, older kernel); the /proc rounds run in
// every case, as a process of the uid may live outside its slice.
bool kill_user_slice(uid_t uid, const char* cgroup_root = "/sys/fs/cgroup");

}  // namespace lockboxd

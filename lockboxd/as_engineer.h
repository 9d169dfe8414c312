// Work that must be done as the engineer rather than as root: removing SysV IPC
// objects, which needs their owner without CAP_SYS_ADMIN. A forked child drops
// supplementary groups, gid and uid, runs the body and exits with what it
// returns. No execve: after the uid switch it fails once the engineer is over
// RLIMIT_NPROC; setresuid itself does not.
//
// Once the child is the engineer's, the engineer can stop it (SIGSTOP), so it
// is waited for through a pidfd with a deadline, then killed (as root) and
// reaped: a child the target controls never holds lockboxd's loop longer than
// the deadline. Never use this to end the engineer's processes
// (session_killer.h does that from root).
#pragma once

#include <functional>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// The body's return value (clamped to 0..124), or an error when uid is 0, the
// child could not be started or become uid, did not exit normally, or did not
// finish within timeout_ms ("child-timeout"; it was killed). The body runs in
// the child of a single-threaded daemon; it makes system calls only.
constexpr int AS_ENGINEER_TIMEOUT_MS = 500;
lockbox::Result<int> run_as_engineer(uid_t uid, gid_t gid, const std::function<int()>& body,
                                     int timeout_ms = AS_ENGINEER_TIMEOUT_MS);

}  // namespace lockboxd

// Work that must be done as the engineer rather than as root: signalling every
// process of the uid at once (kill(-1)) and removing SysV IPC objects, which
// needs their owner without CAP_SYS_ADMIN. A forked child drops supplementary
// groups, gid and uid, runs the body and exits with what it returns. No execve:
// after the uid switch it fails once the engineer is over RLIMIT_NPROC (the
// fork-bomb case); setresuid itself does not.
#pragma once

#include <functional>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// The body's return value (clamped to 0..124), or an error when uid is 0, the
// child could not be started or become uid, or did not exit normally. The body
// runs in the child of a single-threaded daemon; it makes system calls only.
lockbox::Result<int> run_as_engineer(uid_t uid, gid_t gid, const std::function<int()>& body);

}  // namespace lockboxd

// Engineer homes and what an engineer leaves behind. Everything below runs as
// root on directories the engineer could write to, so every step works on
// directory fds with O_NOFOLLOW/AT_SYMLINK_NOFOLLOW: a planted symlink never
// redirects a chown or an unlink outside the tree.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "result.h"

namespace lockboxd {

// Creates base (0755, root) if missing and base/name (0700, owned by uid:uid).
// An existing home is kept and its owner and mode are reset.
lockbox::Status create_home(const std::string& base, const std::string& name, uid_t uid);
// Removes base/name and everything below it without following links.
lockbox::Status remove_home(const std::string& base, const std::string& name);

struct LeftoverPlaces {
    std::vector<std::string> scratch_dirs = {"/tmp", "/var/tmp", "/dev/shm"};
    std::string crontab_dir = "/var/spool/cron/crontabs";
    std::string atjobs_dir = "/var/spool/cron/atjobs";
    bool sysv_ipc = true;
};

struct LeftoverReport {
    size_t files_removed = 0;
    size_t ipc_removed = 0;
    std::vector<std::string> problems;
};

// Removes every file owned by uid under the scratch dirs (whole subtrees of
// directories it owns), its crontab and at jobs, and its SysV IPC objects.
LeftoverReport remove_leftovers(uid_t uid, const std::string& name, const LeftoverPlaces& places = {});

}  // namespace lockboxd

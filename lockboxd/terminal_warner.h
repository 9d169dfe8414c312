// "Your access ends in 10 minutes" on the engineer's terminals. The tty name
// comes from PAM, so it is only opened once the name, resolved without any
// symlink, proves to be a terminal owned by the engineer; the write never
// blocks the daemon.
#pragma once

#include <string>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// tty: "pts/3" or "/dev/pts/3". Refuses anything outside /dev, "..", paths
// through a symlink, non-ttys and terminals not owned by uid, none of which is
// ever opened (needs /proc/self/fd).
lockbox::Status write_to_terminal(const std::string& tty, uid_t uid, const std::string& text);
// "pts/3" -> "/dev/pts/3"; a name under /dev stays as it is.
std::string terminal_device_path(const std::string& tty);

std::string expiry_warning_text(const std::string& grant_id, long long seconds_left);

}  // namespace lockboxd

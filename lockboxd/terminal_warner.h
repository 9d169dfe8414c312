// "Your access ends in 10 minutes" on the engineer's terminals. The tty name
// comes from PAM, so it is only trusted after the opened device proves to be a
// terminal owned by the engineer; the write never blocks the daemon.
#pragma once

#include <string>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// tty: "pts/3" or "/dev/pts/3". Refuses anything outside /dev, "..", non-ttys
// and terminals not owned by uid.
lockbox::Status write_to_terminal(const std::string& tty, uid_t uid, const std::string& text);

std::string expiry_warning_text(const std::string& grant_id, long long seconds_left);

}  // namespace lockboxd

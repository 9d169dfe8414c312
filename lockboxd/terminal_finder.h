// Where an engineer is logged in: the device paths of the controlling
// terminals of their processes. What PAM was told is not enough: sshd opens
// the PAM session before it allocates the pty, so every ssh login reports
// PAM_TTY=ssh, and a terminal opened later (tmux, screen) is not in PAM at all.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace lockboxd {

// Paths under dev_root (pts/N and ttyN) whose character device is one of
// devices; each path found once. Links are not followed.
std::vector<std::string> terminal_paths(const std::vector<dev_t>& devices, const std::string& dev_root = "/dev");

// The terminals of uid's live processes (see controlling_terminals_of_uid).
std::vector<std::string> terminals_of_uid(uid_t uid);

}  // namespace lockboxd

// The last line an engineer reads when access ends ("Lockbox: access for
// ticket 4711 ended (revoked by alice)"), on every terminal of theirs, written
// before the kill starts. The engineer owns those terminals and may have
// stopped their reader or filled their buffer: every write is one
// non-blocking attempt (terminal_warner.h), so a terminal that does not drain
// loses the line but never delays the kill.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace lockboxd {

// ticket comes from the requester and by from the approval service: both are
// made printable and bounded here, so neither can move the cursor or clear
// the screen. An empty ticket leaves the ticket out.
std::string access_ended_text(const std::string& ticket, const std::string& why);

// The terminals the engineer's processes hold, plus those PAM named (login,
// su): sshd's PAM session says "ssh", its pty comes later. pam_ttys may hold
// anything PAM was told; only terminal names are taken.
std::vector<std::string> engineer_terminals(uid_t uid, const std::vector<std::string>& pam_ttys);

// Writes text once to each terminal (see write_to_terminal); returns to how
// many it was written (a full one may have taken nothing: the line is dropped).
size_t write_to_terminals(const std::vector<std::string>& ttys, uid_t uid, const std::string& text);

}  // namespace lockboxd

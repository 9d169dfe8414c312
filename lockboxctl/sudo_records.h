// sudo's own journal lines about one grant: what the engineer ran through sudo,
// for `lockboxctl audit --request ID` (docs/enforcement.md, Access levels).
// sudo logs each command via syslog to journald (SYSLOG_IDENTIFIER=sudo) as
// "USER : TTY=… ; PWD=… ; USER=… ; COMMAND=…" (USER padded with spaces),
// sent with the invoking user's real uid as journald's _UID. A line counts when
// journald's trusted _EXE is sudo itself (any user can send a line that claims
// the identifier sudo, none can make journald see another executable), its
// text starts with the engineer's login, and it lies in the grant's window;
// refused attempts ("… : user NOT in sudoers ; …") count too. The engineer's name is unique on the host while the
// grant lasts (lockboxd refuses names other sources know), so within the
// window the name is the engineer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockboxctl {

struct SudoLine {
    lockbox::usec_t realtime = 0;
    std::map<std::string, std::string> fields;  // MESSAGE, SYSLOG_IDENTIFIER, MESSAGE_ID
};

// The window of a grant as its own audit records give it: from the first
// record of the request to its grant-completed or grant-revoked record, or to
// until when it has neither (still active).
struct GrantWindow {
    std::string engineer;
    lockbox::usec_t since = 0;
    lockbox::usec_t until = 0;
};

// Lines in [window.since, window.until], oldest first, at most limit.
// directory: as JournalQuery::directory (audit_journal.h).
lockbox::Result<std::vector<SudoLine>> read_sudo_lines(const GrantWindow& window, size_t limit,
                                                       const std::string& directory = "");

}  // namespace lockboxctl

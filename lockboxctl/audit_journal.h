// Reading Lockbox's audit records back from journald (docs/design.md §7), for
// `lockboxctl audit` and `lockboxctl audit report`: which entries count as audit
// (the trusted _UID of the program entitled to write them), the time window,
// exact field filters, and the tlog recording of each session.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <systemd/sd-journal.h>

#include "clock.h"
#include "result.h"

namespace lockboxctl {

struct JournalCloser {
    void operator()(sd_journal* j) const { sd_journal_close(j); }
};
using JournalPtr = std::unique_ptr<sd_journal, JournalCloser>;

// This host's journal (directory ""), or one collected from several hosts in
// directory: what systemd-journal-remote writes (docs/fleet.md, "Audit
// across the fleet").
lockbox::Result<JournalPtr> open_journal(const std::string& directory);

struct JournalEntry {
    lockbox::usec_t realtime = 0;
    std::map<std::string, std::string> fields;  // LOCKBOX_*, MESSAGE_ID, MESSAGE, SYSLOG_IDENTIFIER, _BOOT_ID,
                                                // and "recording" (TLOG_REC) on a session-opened entry

    std::string get(const std::string& name) const {
        auto it = fields.find(name);
        return it == fields.end() ? std::string() : it->second;
    }
};

// Fields used internally but not printed: journald's own bookkeeping.
bool printed_field(const std::string& name);

// The time window, inclusive at both ends; parsed once so "2h" means the same
// instant wherever it is used.
struct TimeWindow {
    lockbox::usec_t since = 0;
    lockbox::usec_t until = std::numeric_limits<lockbox::usec_t>::max();
    bool has_since = false;
};

// --since/--until: an RFC 3339 UTC time (2026-11-29T20:00:00Z) or a duration ago
// (2h, -2h); empty means unbounded. Errors name the option.
lockbox::Result<TimeWindow> parse_window(const std::string& since, const std::string& until);

struct JournalQuery {
    TimeWindow window;
    // Exact matches on journal fields ("LOCKBOX_EVENT", value); empty values are
    // no filter.
    std::vector<std::pair<std::string, std::string>> filters;
    size_t limit = 10000;
    std::string directory;  // "" = this host's journal
};

// The audit entries of the window that meet every filter, oldest first, at most
// limit (truncated says more were there).
lockbox::Result<std::vector<JournalEntry>> read_audit_entries(const JournalQuery& query, bool& truncated);

}  // namespace lockboxctl

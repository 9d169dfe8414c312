// lockboxctl audit report [--since T] [--until T] [--json|--csv]: one summary per
// request for a compliance review, built from the audit records journald holds
// (audit_journal.h): who asked and why, who approved and when, the access level,
// the granted window, the hosts, every session with its duration and recording,
// the kills, and how and by whom it ended.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "audit_journal.h"
#include "clock.h"

namespace lockboxctl {

struct ReportSession {
    std::string id;
    std::string host;
    std::string from;  // LOCKBOX_RHOST
    lockbox::usec_t opened = 0;
    lockbox::usec_t ended = 0;  // 0: still open at the end of the window
    std::string end;            // "closed", "killed" or "" (open)
    std::string recording;      // tlog's TLOG_REC, when one was found
};

struct RequestSummary {
    std::string id, tenant, ticket, engineer, reason, access;
    std::string filed_by, manager, approver;
    lockbox::usec_t filed = 0, manager_at = 0, approver_at = 0;
    lockbox::usec_t requested = 0;  // LOCKBOX_DURATION of request-created, in usec
    lockbox::usec_t window_start = 0, window_end = 0;
    std::vector<std::string> hosts;  // asked for, then any other host a record came from, in order
    std::vector<ReportSession> sessions;
    size_t kills = 0;
    std::string ended, ended_by, end_reason;  // ended: denied, cancelled, expired-pending, expired, revoked, released
    lockbox::usec_t ended_at = 0;
    lockbox::usec_t first_seen = 0;

    lockbox::usec_t session_total() const;
};

// The requests the entries speak of, in the order of their first entry. Entries
// without LOCKBOX_REQUEST_ID are not about a request and are left out.
std::vector<RequestSummary> summarize_requests(const std::vector<JournalEntry>& entries);

void register_audit_report(CLI::App& audit, int& exit_code);

}  // namespace lockboxctl

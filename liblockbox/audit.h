// One audit record = one journald entry (docs/design.md §7). Build it with the fields
// that apply, then send(); the entry carries MESSAGE_ID, LOCKBOX_EVENT,
// LOCKBOX_ACTOR, LOCKBOX_HOST, SYSLOG_IDENTIFIER and the request fields.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "audit_event.h"
#include "result.h"

namespace lockbox {

class AuditRecord {
public:
    AuditRecord(AuditEvent event, std::string actor);

    AuditRecord& message(std::string text);
    // Adds LOCKBOX_REQUEST_ID, LOCKBOX_TENANT, LOCKBOX_TICKET, LOCKBOX_ENGINEER.
    AuditRecord& request(const std::string& id, const std::string& tenant, const std::string& ticket,
                         const std::string& engineer);
    // Any other LOCKBOX_* field, e.g. field("REASON", "...") → LOCKBOX_REASON.
    AuditRecord& field(const std::string& name, std::string value);
    AuditRecord& priority(int syslog_priority);

    // All fields as NAME=value strings, in the order journald will get them.
    std::vector<std::string> fields() const;
    // Sends to journald; returns the error (code "journal-unavailable") if
    // journald refused it or is not running (no /run/systemd/journal/socket,
    // which sd_journal_sendv alone would report as success); the caller keeps
    // the record in its outbox and retries. Field names are upper-cased, other
    // characters than [A-Z0-9_] become '_', LOCKBOX_ is prefixed when missing.
    Status send() const;

private:
    AuditEvent event_;
    std::string actor_;
    std::string message_;
    int priority_ = 5;  // LOG_NOTICE
    std::vector<std::pair<std::string, std::string>> extra_;
};

// SYSLOG_IDENTIFIER for every record this process sends ("lockboxd", ...).
void set_audit_identity(std::string syslog_identifier, std::string host_name);

}  // namespace lockbox

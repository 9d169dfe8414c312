// An audit record as the outbox keeps it: plain data that survives a restart and
// becomes a lockbox::AuditRecord when forwarded to journald.
#pragma once

#include <map>
#include <string>

#include "audit.h"
#include "request.h"
#include "result.h"

namespace lockbox::approval {

struct AuditEntry {
    AuditEvent event = AuditEvent::CallRefused;
    std::string actor;
    std::string message;
    int priority = 5;  // LOG_NOTICE
    bool has_request = false;
    std::string request_id, tenant, ticket, engineer;
    std::map<std::string, std::string> fields;  // LOCKBOX_<name>

    AuditRecord to_record() const;
};

// An entry about request r (carries the request fields).
AuditEntry audit_for(AuditEvent event, const std::string& actor, const Request& r, std::string message);

std::string audit_entry_to_json(const AuditEntry& e);
Result<AuditEntry> audit_entry_from_json(const std::string& json);

}  // namespace lockbox::approval

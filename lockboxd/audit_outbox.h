// Audit records must not be lost (docs/design.md §7): a record journald refuses stays
// here, in order, and is retried until journald takes it.
#pragma once

#include <deque>

#include "audit.h"
#include "sd_handles.h"

namespace lockboxd {

class AuditOutbox {
public:
    static constexpr size_t MAX_PENDING = 100000;

    // With a loop, records are sent from a defer source, i.e. after the bus
    // reply of the handler that produced them: a caller (pam_lockbox inside
    // sshd) never waits for journald. Without one (unit tests) they go at once.
    void attach(sd_event* event);
    // Records still queued at shutdown are sent before the daemon exits.
    ~AuditOutbox();
    AuditOutbox() = default;
    AuditOutbox(const AuditOutbox&) = delete;
    AuditOutbox& operator=(const AuditOutbox&) = delete;

    // Queues the record (order matters to readers); see attach().
    void send(lockbox::AuditRecord record);
    // Retries waiting records; returns how many still wait.
    size_t flush();
    size_t pending() const { return pending_.size() + queued_.size(); }

private:
    static int on_defer(sd_event_source* s, void* userdata);
    void send_now(lockbox::AuditRecord record);

    std::deque<lockbox::AuditRecord> pending_;
    std::deque<lockbox::AuditRecord> queued_;
    lockbox::EventSourcePtr defer_;
};

}  // namespace lockboxd

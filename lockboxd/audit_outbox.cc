#include "audit_outbox.h"

#include "log.h"

namespace lockboxd {

AuditOutbox::~AuditOutbox() {
    while (!queued_.empty()) {
        lockbox::AuditRecord r = std::move(queued_.front());
        queued_.pop_front();
        send_now(std::move(r));
    }
    flush();
}

void AuditOutbox::attach(sd_event* event) {
    sd_event_source* raw = nullptr;
    if (!event || sd_event_add_defer(event, &raw, on_defer, this) < 0)
        return;
    defer_.reset(raw);
    sd_event_source_set_enabled(raw, SD_EVENT_OFF);
    sd_event_source_set_description(raw, "audit");
}

int AuditOutbox::on_defer(sd_event_source* s, void* userdata) {
    auto* self = static_cast<AuditOutbox*>(userdata);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
    while (!self->queued_.empty()) {
        lockbox::AuditRecord r = std::move(self->queued_.front());
        self->queued_.pop_front();
        self->send_now(std::move(r));
    }
    return 0;
}

void AuditOutbox::send(lockbox::AuditRecord record) {
    if (!defer_) {
        send_now(std::move(record));
        return;
    }
    if (queued_.size() >= MAX_PENDING) {
        log_error("audit queue full; sending synchronously");
        send_now(std::move(record));
        return;
    }
    queued_.push_back(std::move(record));
    sd_event_source_set_enabled(defer_.get(), SD_EVENT_ONESHOT);
}

void AuditOutbox::send_now(lockbox::AuditRecord record) {
    if (pending_.empty()) {
        auto st = record.send();
        if (st)
            return;
        log_warning("journald refused an audit record, keeping it for a retry: " + st.error().message);
    }
    if (pending_.size() >= MAX_PENDING) {
        log_error("audit outbox full; dropping the oldest waiting record");
        pending_.pop_front();
    }
    pending_.push_back(std::move(record));
}

size_t AuditOutbox::flush() {
    while (!pending_.empty()) {
        if (!pending_.front().send())
            break;
        pending_.pop_front();
    }
    return pending_.size();
}

}  // namespace lockboxd

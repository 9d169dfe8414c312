#include "forged_signal_audit.h"

#include <cstring>
#include "clock.h"
#include "printable_text.h"

#include "log.h"

namespace lockboxd {

namespace {

// Bus names are ASCII and at most 255 bytes; anything else is cut, never trusted.
std::string bus_name_text(const char* s) { return s ? lockbox::printable(s, 255) : std::string(); }

}  // namespace

ForgedSignalAudit::ForgedSignalAudit(sd_bus* bus, Sink sink) : bus_(bus), sink_(std::move(sink)) {}

ForgedSignalAudit::~ForgedSignalAudit() = default;  // the slots cancel what is still asked

void ForgedSignalAudit::refused(sd_bus_message* m, const std::string& reason) {
    total_++;
    auto p = std::make_unique<Pending>();
    p->owner = this;
    p->sender = bus_name_text(sd_bus_message_get_sender(m));
    p->signal = bus_name_text(sd_bus_message_get_member(m));
    p->reason = reason;
    p->message =
        "ignoring " + p->signal + " from " + (p->sender.empty() ? "?" : p->sender) + " (forged: " + reason + ")";
    lockbox::usec_t now = lockbox::monotonic_now();
    if (now - window_start_ >= WINDOW) {
        flush();
        window_start_ = now;
        in_window_ = 0;
    }
    if (++in_window_ > BURST) {
        suppressed_++;  // journald does not rate-limit lockboxd: the log line waits too
        return;
    }
    log_warning(p->message);
    if (!bus_ || p->sender.empty() || p->sender[0] != ':') {
        emit(*p, "", "");
        return;
    }
    sd_bus_slot* slot = nullptr;
    int r =
        sd_bus_call_method_async(bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "GetConnectionCredentials", on_credentials, p.get(), "s", p->sender.c_str());
    if (r < 0) {
        emit(*p, "", "");
        return;
    }
    p->slot.reset(slot);
    pending_.push_back(std::move(p));
}

int ForgedSignalAudit::on_credentials(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* p = static_cast<Pending*>(userdata);
    ForgedSignalAudit* self = p->owner;
    std::string uid, pid;
    // An error (the sender already left the bus) leaves them unknown.
    if (!sd_bus_message_is_method_error(m, nullptr) && sd_bus_message_enter_container(m, 'a', "{sv}") >= 0) {
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
            const char* key = nullptr;
            if (sd_bus_message_read(m, "s", &key) < 0)
                break;
            uint32_t value = 0;
            if ((std::strcmp(key, "UnixUserID") == 0 || std::strcmp(key, "ProcessID") == 0) &&
                sd_bus_message_read(m, "v", "u", &value) >= 0) {
                (key[0] == 'U' ? uid : pid) = std::to_string(value);
            } else if (sd_bus_message_skip(m, "v") < 0) {
                break;
            }
            if (sd_bus_message_exit_container(m) < 0)
                break;
        }
    }
    self->emit(*p, uid, pid);
    self->pending_.remove_if([p](const std::unique_ptr<Pending>& q) { return q.get() == p; });  // frees p
    return 0;
}

void ForgedSignalAudit::emit(const Pending& p, const std::string& uid, const std::string& pid) {
    lockbox::AuditRecord rec(lockbox::AuditEvent::BusSignalForged, uid.empty() ? p.sender : "uid:" + uid);
    rec.message(p.message + (uid.empty() ? "" : " (uid " + uid + ", pid " + pid + ")"));
    rec.priority(4);
    rec.field("SIGNAL", p.signal);
    rec.field("SENDER", p.sender);
    rec.field("REASON", p.reason);
    if (!uid.empty())
        rec.field("SENDER_UID", uid);
    if (!pid.empty())
        rec.field("SENDER_PID", pid);
    if (sink_)
        sink_(std::move(rec));
}

void ForgedSignalAudit::flush() {
    if (suppressed_ == 0 || lockbox::monotonic_now() - window_start_ < WINDOW)
        return;
    std::string text = std::to_string(suppressed_) + " more forged bus signals ignored within " +
                       std::to_string(WINDOW / lockbox::USEC_PER_SEC) + " s, not audited one by one";
    log_warning(text);
    lockbox::AuditRecord rec(lockbox::AuditEvent::BusSignalForged, "lockboxd");
    rec.message(std::move(text));
    rec.priority(4);
    rec.field("REASON", "rate limit: " + std::to_string(BURST) + " entries a minute");
    rec.field("SUPPRESSED", std::to_string(suppressed_));
    suppressed_ = 0;
    if (sink_)
        sink_(std::move(rec));
}

}  // namespace lockboxd

// Audit of bus signals lockboxd refused as forged (bus-signal-forged): any local
// user can send lockboxd a unicast signal, so each refusal names the sender's
// unique name and, asked of the bus driver (GetConnectionCredentials, async:
// dbus-daemon attaches no credentials to messages), its uid and pid. A flood must
// not fill the journal: at most BURST records per WINDOW, the rest of the window
// counted into one summary record when it ends.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "audit.h"
#include "clock.h"
#include "sd_handles.h"

namespace lockboxd {

class ForgedSignalAudit {
public:
    using Sink = std::function<void(lockbox::AuditRecord)>;
    static constexpr size_t BURST = 10;
    static constexpr lockbox::usec_t WINDOW = 60 * lockbox::USEC_PER_SEC;

    ForgedSignalAudit(sd_bus* bus, Sink sink);
    ~ForgedSignalAudit();

    // m: the refused signal; reason: why it was refused (a sentence).
    void refused(sd_bus_message* m, const std::string& reason);
    // Writes the summary of a window that has ended; called from a timer too,
    // so the count of a flood that stopped is not held back.
    void flush();

    size_t refused_total() const { return total_; }

private:
    struct Pending {
        ForgedSignalAudit* owner = nullptr;
        std::string sender, signal, reason, message;
        lockbox::BusSlotPtr slot;
    };
    static int on_credentials(sd_bus_message* m, void* userdata, sd_bus_error* error);
    void emit(const Pending& p, const std::string& uid, const std::string& pid);

    sd_bus* bus_;
    Sink sink_;
    std::list<std::unique_ptr<Pending>> pending_;
    lockbox::usec_t window_start_ = 0;
    size_t in_window_ = 0;
    size_t suppressed_ = 0;
    size_t total_ = 0;
};

}  // namespace lockboxd

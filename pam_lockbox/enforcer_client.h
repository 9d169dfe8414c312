// pam_lockbox's side of org.lockbox.Enforcer1 (docs/bus-api.md). One short-lived
// system-bus connection per PAM call: sshd and su fork between PAM phases, and an
// sd_bus connection must never be used from a process other than the one that
// opened it. Every exchange, connection setup included, ends by its deadline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <systemd/sd-bus.h>

#include "clock.h"
#include "printable_text.h"
#include "result.h"
#include "sd_handles.h"

namespace lockbox::pam {

// Error codes returned by every call, so the module can tell the user whether
// Lockbox refused them or could not be asked:
//   "unavailable"  no bus, lockboxd not running, connection lost
//   "timeout"      lockboxd or the bus did not answer within the budget
//   "malformed"    a reply that does not match the contract
//   "refused"      lockboxd answered with a D-Bus error (message carries its name)
struct AccessVerdict {
    bool allowed = false;
    std::string reason;  // "allowed", "no-grant", "expired", ...
    std::string grant_id;
    usec_t expires = 0;  // µs since the epoch; 0 when not allowed
};

struct SessionTicket {
    std::string session_id;
    std::string grant_id;
    std::string ticket;
    usec_t expires = 0;
};

struct SessionInfo {
    std::string user;
    uint32_t pid = 0;
    std::string tty;
    std::string rhost;
    std::string logind_session;
};

// Nothing we send needs to outlive the reply we waited for: close without flushing.
using BusPtr = UnflushedBusPtr;

class EnforcerClient {
public:
    // budget: total time for connecting and the one call that follows.
    static Result<EnforcerClient> connect(usec_t budget);

    Result<AccessVerdict> check_access(const std::string& user, const std::string& service, const std::string& rhost,
                                       const std::string& tty);
    Result<SessionTicket> open_session(const SessionInfo& session);
    Status close_session(const std::string& session_id);

private:
    EnforcerClient(BusPtr bus, usec_t deadline) : bus_(std::move(bus)), deadline_(deadline) {}

    BusPtr bus_;
    usec_t deadline_;  // CLOCK_MONOTONIC
};

// How much of a text from elsewhere (a bus error, a path) a log line or a
// message to the user shows; printable() (printable_text.h) makes it safe.
constexpr size_t MAX_SHOWN_TEXT = 256;

}  // namespace lockbox::pam

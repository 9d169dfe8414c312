// The sentences a person sees from pam_lockbox (login, su, keyboard-interactive
// ssh). Each one says what Lockbox needs, for which tenant and host, and whether
// Lockbox refused ("no grant") or could not be asked ("unavailable"), because the
// two need different people to act.
#pragma once

#include <string>

#include "clock.h"

namespace lockbox::pam {

struct Target {
    std::string user;
    std::string tenant;
    std::string host;
};

// lockboxd answered and refused; reason is its reason code (docs/bus-api.md).
std::string denied_message(const Target& t, const std::string& reason);
// lockboxd could not be asked or gave no usable answer.
std::string unavailable_message(const Target& t);
// The module cannot read its own configuration.
std::string misconfigured_message(const Target& t);
// OpenSession failed: the session is refused because lockboxd could not track it.
std::string session_refused_message(const Target& t);
// Shown when a session opens: request id, ticket and when access ends, in local
// time and UTC (the engineer and the customer are rarely in one time zone).
std::string session_opened_message(const std::string& request_id, const std::string& ticket, usec_t expires);

// A human sentence for a CheckAccess reason code; unknown codes are shown as is.
std::string reason_text(const std::string& reason);
// "2026-11-29 22:45:00 CET (21:45:00 UTC)"
std::string format_local_and_utc(usec_t t);

}  // namespace lockbox::pam

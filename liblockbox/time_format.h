// RFC 3339 UTC timestamps and "2h"/"30m"/"45s" durations, the two time syntaxes
// that appear in tokens, config files and on the command line.
#pragma once

#include <string>
#include <string_view>

#include "clock.h"
#include "result.h"

namespace lockbox {

// "2026-11-29T20:36:58Z" (whole seconds; sub-second parts are dropped).
std::string format_rfc3339(usec_t t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)"; only UTC offsets of zero.
Result<usec_t> parse_rfc3339(std::string_view text);

// Positive durations: digits followed by s, m or h, optionally combined ("1h30m").
// Bare numbers are refused so "4" never silently means four seconds.
Result<usec_t> parse_duration(std::string_view text);
std::string format_duration(usec_t d);  // "4h", "1h30m", "45s"

}  // namespace lockbox

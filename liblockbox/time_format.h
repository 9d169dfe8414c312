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

// Positive durations: digits followed by s, m or h, optionally combined largest
// unit first, each unit once ("1h30m", not "30m1h"). Bare numbers are refused so
// "4" never silently means four seconds; zero ("0s") is refused because every
// caller needs a positive span (config keys that allow 0 accept a literal "0");
// values beyond int64 microseconds are refused, never wrapped. Error code
// "bad-duration" / "bad-time".
Result<usec_t> parse_duration(std::string_view text);
std::string format_duration(usec_t d);  // "4h", "1h30m", "45s"; whole seconds, "0s" for d < 1s

}  // namespace lockbox

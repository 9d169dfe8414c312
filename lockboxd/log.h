// Operational log lines (not audit records) on stderr, which journald takes with
// the sd-daemon "<N>" priority prefix when lockboxd runs as a service.
#pragma once

#include <cstdio>
#include <string>

namespace lockboxd {

inline void log_line(int priority, const std::string& text) {
    std::fprintf(stderr, "<%d>%s\n", priority, text.c_str());
}
inline void log_error(const std::string& text) { log_line(3, text); }
inline void log_warning(const std::string& text) { log_line(4, text); }
inline void log_info(const std::string& text) { log_line(6, text); }

}  // namespace lockboxd

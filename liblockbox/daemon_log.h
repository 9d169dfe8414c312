// Operational log lines of the daemons (not audit records: those are audit.h).
// One line on stderr with the sd-daemon "<N>" priority prefix (sd-daemon(3)),
// which journald turns into PRIORITY= when the daemon runs as a service; so no
// call site writes a prefix or a newline of its own.
//
//   log_error("cannot read " + path);                // a finished text
//   log_warning("{} by {} failed: {}", m, who, why);  // fmt-style, checked at compile time
#pragma once

#include <cstdio>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace lockbox {

// The syslog priorities the daemons use (LOG_ERR ... LOG_DEBUG).
enum class LogPriority : int { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

inline void log_line(LogPriority priority, std::string_view text) {
    std::fprintf(stderr, "<%d>%.*s\n", static_cast<int>(priority), static_cast<int>(text.size()), text.data());
}

inline void log_error(std::string_view text) { log_line(LogPriority::Error, text); }
inline void log_warning(std::string_view text) { log_line(LogPriority::Warning, text); }
inline void log_notice(std::string_view text) { log_line(LogPriority::Notice, text); }
inline void log_info(std::string_view text) { log_line(LogPriority::Info, text); }
inline void log_debug(std::string_view text) { log_line(LogPriority::Debug, text); }

template <typename Arg, typename... Args>
void log_error(fmt::format_string<Arg, Args...> format, Arg&& arg, Args&&... args) {
    log_error(fmt::format(format, std::forward<Arg>(arg), std::forward<Args>(args)...));
}
template <typename Arg, typename... Args>
void log_warning(fmt::format_string<Arg, Args...> format, Arg&& arg, Args&&... args) {
    log_warning(fmt::format(format, std::forward<Arg>(arg), std::forward<Args>(args)...));
}
template <typename Arg, typename... Args>
void log_notice(fmt::format_string<Arg, Args...> format, Arg&& arg, Args&&... args) {
    log_notice(fmt::format(format, std::forward<Arg>(arg), std::forward<Args>(args)...));
}
template <typename Arg, typename... Args>
void log_info(fmt::format_string<Arg, Args...> format, Arg&& arg, Args&&... args) {
    log_info(fmt::format(format, std::forward<Arg>(arg), std::forward<Args>(args)...));
}
template <typename Arg, typename... Args>
void log_debug(fmt::format_string<Arg, Args...> format, Arg&& arg, Args&&... args) {
    log_debug(fmt::format(format, std::forward<Arg>(arg), std::forward<Args>(args)...));
}

}  // namespace lockbox

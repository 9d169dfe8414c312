#include "terminal_notice.h"

#include <set>

#include "log.h"
#include "printable_text.h"
#include "terminal_finder.h"
#include "terminal_warner.h"

namespace lockboxd {

namespace {
constexpr size_t MAX_TICKET_SHOWN = 64;
constexpr size_t MAX_WHY_SHOWN = 128;
}  // namespace

std::string access_ended_text(const std::string& ticket, const std::string& why) {
    std::string what = ticket.empty() ? "access" : "access for ticket " + lockbox::printable(ticket, MAX_TICKET_SHOWN);
    // \r\n first: the engineer's cursor may stand anywhere on a line.
    return "\r\nLockbox: " + what + " ended (" + lockbox::printable(why, MAX_WHY_SHOWN) + ")\r\n";
}

std::vector<std::string> engineer_terminals(uid_t uid, const std::vector<std::string>& pam_ttys) {
    std::set<std::string> ttys;
    for (const auto& path : terminals_of_uid(uid))
        ttys.insert(path);
    for (const auto& tty : pam_ttys)
        if (tty.starts_with("/dev/") || tty.starts_with("pts/") || tty.starts_with("tty"))
            ttys.insert(terminal_device_path(tty));
    return {ttys.begin(), ttys.end()};
}

size_t write_to_terminals(const std::vector<std::string>& ttys, uid_t uid, const std::string& text) {
    size_t written = 0;
    for (const auto& tty : ttys) {
        if (auto st = write_to_terminal(tty, uid, text); !st)
            log_info("nothing written to " + tty + ": " + st.error().message);
        else
            ++written;
    }
    return written;
}

}  // namespace lockboxd

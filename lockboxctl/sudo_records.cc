#include "sudo_records.h"

#include "audit_journal.h"

#include <cstring>
#include <memory>
#include <string_view>

#include <systemd/sd-journal.h>

namespace lockboxctl {
namespace {

lockbox::Error journal_error(const char* what, int r) {
    return lockbox::make_error(lockbox::Errc::JournalUnavailable, std::string(what) + ": " + std::strerror(-r));
}

}  // namespace

lockbox::Result<std::vector<SudoLine>> read_sudo_lines(const GrantWindow& window, size_t limit,
                                                       const std::string& directory) {
    std::vector<SudoLine> out;
    if (window.engineer.empty() || window.until < window.since)
        return out;
    auto opened = open_journal(directory);
    if (!opened)
        return opened.error();
    JournalPtr j = std::move(*opened);
    int r = 0;
    // Values of one field are ORed: sudo at either path of a merged /usr.
    for (const char* match : {"SYSLOG_IDENTIFIER=sudo", "_EXE=/usr/bin/sudo", "_EXE=/bin/sudo"})
        if ((r = sd_journal_add_match(j.get(), match, 0)) < 0)
            return journal_error("cannot filter the journal", r);
    if ((r = sd_journal_seek_realtime_usec(j.get(), static_cast<uint64_t>(window.since))) < 0)
        return journal_error("cannot seek in the journal", r);
    // "    eve : TTY=pts/0 ; …": the invoking user (sudo pads it on the left),
    // then sudo's fields.
    const std::string prefix = window.engineer + " : ";
    while ((r = sd_journal_next(j.get())) > 0 && out.size() < limit) {
        uint64_t rt = 0;
        if (sd_journal_get_realtime_usec(j.get(), &rt) < 0)
            continue;
        if (static_cast<lockbox::usec_t>(rt) > window.until)
            break;
        if (static_cast<lockbox::usec_t>(rt) < window.since)
            continue;
        const void* data = nullptr;
        size_t len = 0;
        if (sd_journal_get_data(j.get(), "MESSAGE", &data, &len) < 0)
            continue;
        std::string_view message(static_cast<const char*>(data), len);
        message.remove_prefix(std::string_view("MESSAGE=").size());
        std::string_view text = message;
        while (!text.empty() && text.front() == ' ')
            text.remove_prefix(1);
        if (!text.starts_with(prefix))
            continue;
        SudoLine line;
        line.realtime = static_cast<lockbox::usec_t>(rt);
        line.fields["MESSAGE"] = std::string(message);
        line.fields["SYSLOG_IDENTIFIER"] = "sudo";
        out.push_back(std::move(line));
    }
    if (r < 0)
        return journal_error("cannot read the journal", r);
    return out;
}

}  // namespace lockboxctl

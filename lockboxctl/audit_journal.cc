// How audit entries are told apart from anything else in the journal, and read
// back in order (audit_journal.h).
#include "audit_journal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <pwd.h>
#include <string_view>

#include <systemd/sd-journal.h>

#include "bus_api.h"
#include "printable_text.h"
#include "time_format.h"

namespace lockboxctl {
namespace {

using lockbox::printable;

constexpr const char* IDENTIFIERS[] = {"lockboxd", "lockbox-approvald", "pam_lockbox"};
constexpr size_t MAX_FIELD = 64 * 1024;  // per field; larger values are cut by sd-journal
constexpr size_t MAX_RECORDING_LOOKUPS = 1000;

bool wanted_field(std::string_view name) {
    return name.starts_with("LOCKBOX_") || name == "MESSAGE_ID" || name == "MESSAGE" || name == "SYSLOG_IDENTIFIER" ||
           name == "_BOOT_ID";
}

// "--since 2026-11-29T20:00:00Z", or "--since 2h" / "--since -2h" (that long
// ago; the minus sign as journalctl writes it is optional). Same for --until.
lockbox::Result<lockbox::usec_t> parse_time_bound(const char* option, const std::string& text, lockbox::usec_t now) {
    if (auto t = lockbox::parse_rfc3339(text))
        return *t;
    std::string_view ago = text;
    if (ago.starts_with('-'))
        ago.remove_prefix(1);
    if (auto d = lockbox::parse_duration(ago))
        return now - *d;
    return lockbox::make_error(lockbox::Errc::InvalidArgument,
                               std::string(option) + " \"" + printable(text, 64) +
                                   "\" is neither an RFC 3339 UTC time (2026-11-29T20:00:00Z) nor a "
                                   "duration ago (2h, -30m)");
}

lockbox::Status add_match(sd_journal* j, const std::string& match) {
    int r = sd_journal_add_match(j, match.data(), match.size());
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   "cannot filter the journal on " + match + ": " + std::strerror(-r));
    return {};
}

// Matches on different fields are ANDed, values of one field ORed, and
// disjunctions ORed, by sd-journal. An entry counts as audit only from the
// program entitled to write it, as journald's trusted _UID proves (any local
// user may send an entry that claims SYSLOG_IDENTIFIER=lockboxd): root for
// all three (lockboxd, pam_lockbox inside sshd/login/su, an approval service
// run by root), and the approval service's own user for lockbox-approvald.
lockbox::Status add_matches(sd_journal* j, const JournalQuery& q) {
    auto branch = [&](std::initializer_list<const char*> ids, uid_t uid) -> lockbox::Status {
        for (const char* id : ids)
            if (auto s = add_match(j, std::string("SYSLOG_IDENTIFIER=") + id); !s)
                return s;
        if (auto s = add_match(j, "_UID=" + std::to_string(uid)); !s)
            return s;
        for (const auto& [field, value] : q.filters)
            if (!value.empty())
                if (auto s = add_match(j, field + "=" + value); !s)
                    return s;
        return {};
    };
    if (auto s = branch({IDENTIFIERS[0], IDENTIFIERS[1], IDENTIFIERS[2]}, 0); !s)
        return s;
    const struct passwd* approval = ::getpwnam(lockbox::bus::APPROVAL_SERVICE_USER);
    if (!approval || approval->pw_uid == 0)
        return {};
    if (int r = sd_journal_add_disjunction(j); r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot combine journal filters: ") + std::strerror(-r));
    return branch({"lockbox-approvald"}, approval->pw_uid);
}

lockbox::Result<JournalEntry> read_entry(sd_journal* j) {
    JournalEntry e;
    uint64_t rt = 0;
    int r = sd_journal_get_realtime_usec(j, &rt);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot read an entry's time: ") + std::strerror(-r));
    e.realtime = static_cast<lockbox::usec_t>(rt);
    const void* data = nullptr;
    size_t len = 0;
    SD_JOURNAL_FOREACH_DATA(j, data, len) {
        std::string_view field(static_cast<const char*>(data), len);
        size_t eq = field.find('=');
        if (eq == std::string_view::npos)
            continue;
        std::string name(field.substr(0, eq));
        if (wanted_field(name))
            e.fields.emplace(std::move(name), std::string(field.substr(eq + 1)));  // first value wins
    }
    return e;
}

// tlog-rec-session writes the session's terminal to journald with TLOG_USER,
// TLOG_SESSION (the kernel audit session id, which pam_lockbox records as
// LOCKBOX_AUDIT_SESSION) and TLOG_REC (the recording id tlog-play -M takes).
// Audit session ids repeat across boots, hence the _BOOT_ID match.
void attach_recording(sd_journal* j, JournalEntry& e) {
    std::string session = e.get("LOCKBOX_AUDIT_SESSION");
    std::string user = e.get("LOCKBOX_ENGINEER");
    std::string boot = e.get("_BOOT_ID");
    if (session.empty() || user.empty() || boot.empty())
        return;
    sd_journal_flush_matches(j);
    if (!add_match(j, "TLOG_SESSION=" + session) || !add_match(j, "TLOG_USER=" + user) ||
        !add_match(j, "_BOOT_ID=" + boot))
        return;
    constexpr lockbox::usec_t SLACK = 60 * lockbox::USEC_PER_SEC;  // tlog starts after PAM's session hook
    if (sd_journal_seek_realtime_usec(j, static_cast<uint64_t>(std::max<lockbox::usec_t>(e.realtime - SLACK, 0))) < 0 ||
        sd_journal_next(j) <= 0)
        return;
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j, "TLOG_REC", &data, &len) < 0)
        return;
    std::string_view field(static_cast<const char*>(data), len);
    e.fields["recording"] = std::string(field.substr(std::string_view("TLOG_REC=").size()));
}

// sd-journal matched on some value of each field; the reader keeps the first
// value of a field, so check that the value shown is the one asked for.
bool matches_filters(const JournalEntry& e, const JournalQuery& q) {
    for (const auto& [field, value] : q.filters)
        if (!value.empty() && e.get(field) != value)
            return false;
    return true;
}

}  // namespace

bool printed_field(const std::string& name) { return name != "_BOOT_ID"; }

lockbox::Result<TimeWindow> parse_window(const std::string& since, const std::string& until) {
    TimeWindow w;
    lockbox::usec_t now = lockbox::system_clock().now();
    if (!since.empty()) {
        auto t = parse_time_bound("--since", since, now);
        if (!t)
            return t.error();
        w.since = std::max<lockbox::usec_t>(*t, 0);
        w.has_since = true;
    }
    if (!until.empty()) {
        auto t = parse_time_bound("--until", until, now);
        if (!t)
            return t.error();
        w.until = *t;
    }
    if (w.has_since && w.until < w.since)
        return lockbox::make_error(lockbox::Errc::InvalidArgument,
                                   "--until " + printable(until, 64) + " is before --since " + printable(since, 64));
    return w;
}

lockbox::Result<JournalPtr> open_journal(const std::string& directory) {
    sd_journal* raw = nullptr;
    int r = directory.empty() ? sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY)
                              : sd_journal_open_directory(&raw, directory.c_str(), 0);
    if (r < 0)
        return lockbox::make_error(
            lockbox::Errc::JournalUnavailable,
            "cannot open the journal" + (directory.empty() ? "" : " in " + directory) + ": " + std::strerror(-r));
    return JournalPtr(raw);
}

lockbox::Result<std::vector<JournalEntry>> read_audit_entries(const JournalQuery& q, bool& truncated) {
    const TimeWindow& window = q.window;
    auto opened = open_journal(q.directory);
    if (!opened)
        return opened.error();
    JournalPtr j = std::move(*opened);
    int r = 0;
    sd_journal_set_data_threshold(j.get(), MAX_FIELD);
    if (auto s = add_matches(j.get(), q); !s)
        return s.error();
    if (window.has_since)
        r = sd_journal_seek_realtime_usec(j.get(), static_cast<uint64_t>(window.since));
    else
        r = sd_journal_seek_head(j.get());
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot seek in the journal: ") + std::strerror(-r));

    std::vector<JournalEntry> out;
    truncated = false;
    while ((r = sd_journal_next(j.get())) > 0) {
        auto e = read_entry(j.get());
        if (!e)
            return e.error();
        // Past --until: stop reading, as journalctl --until does, rather than
        // walk the rest of a long journal.
        if (e->realtime > window.until)
            break;
        // Only entries written through AuditRecord: other lines from the same
        // programs (debug logs, pam_syslog) carry no LOCKBOX_EVENT.
        if (e->get("LOCKBOX_EVENT").empty() || e->realtime < window.since || !matches_filters(*e, q))
            continue;
        if (out.size() == q.limit) {
            truncated = true;
            break;
        }
        out.push_back(std::move(e).value());
    }
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot read the journal: ") + std::strerror(-r));
    size_t lookups = 0;
    for (auto& e : out)
        if (e.get("LOCKBOX_EVENT") == "session-opened" && lookups++ < MAX_RECORDING_LOOKUPS)
            attach_recording(j.get(), e);
    // sd-journal interleaves files by time already; sort anyway so entries from
    // hosts with skewed clocks or rotated files still read in order.
    std::stable_sort(out.begin(), out.end(),
                     [](const JournalEntry& a, const JournalEntry& b) { return a.realtime < b.realtime; });
    return out;
}

}  // namespace lockboxctl

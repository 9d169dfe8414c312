// lockboxctl audit [--since T] [--until T] [--event E] [--actor A] [--engineer E]
// [--host H] [--request ID] [--json|--csv]: the audit trail as journald holds it
// (docs/design.md §7), oldest first; a table for people, JSON for tools, CSV for
// spreadsheets.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <pwd.h>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemd/sd-journal.h>

#include "audit_event.h"
#include "clock.h"
#include "bus_api.h"
#include "csv_text.h"
#include "ctl.h"
#include "names.h"
#include "printable_text.h"
#include "sudo_records.h"
#include "time_format.h"

namespace lockboxctl {
namespace {

// Journal values (and arguments echoed in errors) are whatever a sender wrote:
// never let one move the cursor, clear the screen or split a table row.
using lockbox::printable;

struct JournalCloser {
    void operator()(sd_journal* j) const { sd_journal_close(j); }
};
using JournalPtr = std::unique_ptr<sd_journal, JournalCloser>;

constexpr const char* IDENTIFIERS[] = {"lockboxd", "lockbox-approvald", "pam_lockbox"};
constexpr size_t DEFAULT_LIMIT = 10000;
constexpr size_t MAX_LIMIT = 1000000;
constexpr size_t MAX_FIELD = 64 * 1024;  // per field; larger values are cut by sd-journal
constexpr size_t MAX_RECORDING_LOOKUPS = 1000;
constexpr size_t MAX_FILTER_VALUE = 256;  // longer than any login, host name or actor Lockbox writes

struct AuditOptions {
    std::string since;
    std::string until;
    std::string event;
    std::string actor;
    std::string engineer;
    std::string host;
    std::string request;
    bool json = false;
    bool csv = false;
    size_t limit = DEFAULT_LIMIT;

    // Exact matches on journal fields, in the order they are checked.
    std::vector<std::pair<const char*, const std::string*>> field_filters() const {
        return {{"LOCKBOX_EVENT", &event},
                {"LOCKBOX_ACTOR", &actor},
                {"LOCKBOX_ENGINEER", &engineer},
                {"LOCKBOX_HOST", &host},
                {"LOCKBOX_REQUEST_ID", &request}};
    }
};

struct Entry {
    lockbox::usec_t realtime = 0;
    std::map<std::string, std::string> fields;  // LOCKBOX_*, MESSAGE_ID, MESSAGE, SYSLOG_IDENTIFIER

    std::string get(const std::string& name) const {
        auto it = fields.find(name);
        return it == fields.end() ? std::string() : it->second;
    }
};

bool wanted_field(std::string_view name) {
    return name.starts_with("LOCKBOX_") || name == "MESSAGE_ID" || name == "MESSAGE" || name == "SYSLOG_IDENTIFIER" ||
           name == "_BOOT_ID";
}

// Fields used internally but not printed: journald's own bookkeeping.
bool printed_field(std::string_view name) { return name != "_BOOT_ID"; }

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

// The time window, inclusive at both ends; parsed once so "2h" means the same
// instant wherever it is used.
struct TimeWindow {
    lockbox::usec_t since = 0;
    lockbox::usec_t until = std::numeric_limits<lockbox::usec_t>::max();
    bool has_since = false;
};

lockbox::Result<TimeWindow> parse_window(const AuditOptions& o) {
    TimeWindow w;
    lockbox::usec_t now = lockbox::system_clock().now();
    if (!o.since.empty()) {
        auto t = parse_time_bound("--since", o.since, now);
        if (!t)
            return t.error();
        w.since = std::max<lockbox::usec_t>(*t, 0);
        w.has_since = true;
    }
    if (!o.until.empty()) {
        auto t = parse_time_bound("--until", o.until, now);
        if (!t)
            return t.error();
        w.until = *t;
    }
    if (w.has_since && w.until < w.since)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "--until " + printable(o.until, 64) +
                                                                       " is before --since " + printable(o.since, 64));
    return w;
}

// Every filter value ends up in a journal match and in error messages: bounded
// and printable, and an event must be one Lockbox writes, so a typo is an error
// rather than an empty (and falsely reassuring) trail.
lockbox::Status validate_filters(const AuditOptions& o) {
    auto usage = [](std::string message) { return lockbox::make_error(lockbox::Errc::InvalidArgument, message); };
    const std::pair<const char*, const std::string*> named[] = {
        {"--event", &o.event}, {"--actor", &o.actor}, {"--engineer", &o.engineer}, {"--host", &o.host}};
    for (const auto& [option, value] : named) {
        if (value->empty())
            continue;
        if (value->size() > MAX_FILTER_VALUE || !lockbox::is_printable(*value))
            return usage(std::string(option) + " \"" + printable(*value, 64) + "\" must be printable text of at most " +
                         std::to_string(MAX_FILTER_VALUE) + " bytes");
    }
    if (!o.event.empty()) {
        bool known = std::any_of(lockbox::AUDIT_EVENTS.begin(), lockbox::AUDIT_EVENTS.end(),
                                 [&](const auto& info) { return info.name == o.event; });
        if (!known) {
            std::string names;
            for (const auto& info : lockbox::AUDIT_EVENTS)
                names += (names.empty() ? "" : ", ") + std::string(info.name);
            return usage("--event \"" + printable(o.event, 64) + "\" is not an audit event; valid events: " + names);
        }
    }
    if (!o.request.empty() && !lockbox::is_valid_uuid(o.request))
        return usage("--request \"" + printable(o.request, 64) + "\" is not a request id (a lowercase UUID)");
    return {};
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
lockbox::Status add_matches(sd_journal* j, const AuditOptions& o) {
    auto branch = [&](std::initializer_list<const char*> ids, uid_t uid) -> lockbox::Status {
        for (const char* id : ids)
            if (auto s = add_match(j, std::string("SYSLOG_IDENTIFIER=") + id); !s)
                return s;
        if (auto s = add_match(j, "_UID=" + std::to_string(uid)); !s)
            return s;
        for (const auto& [field, value] : o.field_filters())
            if (!value->empty())
                if (auto s = add_match(j, std::string(field) + "=" + *value); !s)
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

lockbox::Result<Entry> read_entry(sd_journal* j) {
    Entry e;
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
void attach_recording(sd_journal* j, Entry& e) {
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
bool matches_filters(const Entry& e, const AuditOptions& o) {
    for (const auto& [field, value] : o.field_filters())
        if (!value->empty() && e.get(field) != *value)
            return false;
    return true;
}

lockbox::Result<std::vector<Entry>> read_entries(const AuditOptions& o, const TimeWindow& window, bool& truncated) {
    sd_journal* raw = nullptr;
    int r = sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot open the journal: ") + std::strerror(-r));
    JournalPtr j(raw);
    sd_journal_set_data_threshold(j.get(), MAX_FIELD);
    if (auto s = add_matches(j.get(), o); !s)
        return s.error();
    if (window.has_since)
        r = sd_journal_seek_realtime_usec(j.get(), static_cast<uint64_t>(window.since));
    else
        r = sd_journal_seek_head(j.get());
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::JournalUnavailable,
                                   std::string("cannot seek in the journal: ") + std::strerror(-r));

    std::vector<Entry> out;
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
        if (e->get("LOCKBOX_EVENT").empty() || e->realtime < window.since || !matches_filters(*e, o))
            continue;
        if (out.size() == o.limit) {
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
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.realtime < b.realtime; });
    return out;
}

std::string details(const Entry& e) {
    std::string d;
    auto add = [&](const char* label, const std::string& value, const char* suffix = "") {
        if (!value.empty())
            d += (d.empty() ? "" : " ") + std::string(label) + "=" + value + suffix;
    };
    add("session", e.get("LOCKBOX_SESSION_ID"));
    add("audit-session", e.get("LOCKBOX_AUDIT_SESSION"));
    add("from", e.get("LOCKBOX_SOURCE_ADDRESS"));
    add("from", e.get("LOCKBOX_RHOST"));
    add("delay", e.get("LOCKBOX_DELAY_MS"), "ms");
    add("pids", e.get("LOCKBOX_PIDS"));
    add("recording", e.get("recording"));
    std::string msg = e.get("MESSAGE");
    if (!msg.empty())
        d += (d.empty() ? "" : ": ") + msg;
    return d;
}

void print_table(const std::vector<Entry>& entries, bool show_request) {
    std::printf("%-20s  %-18s  %-16s  %-*s%-16s  %s\n", "TIME", "EVENT", "ACTOR", show_request ? 38 : 0,
                show_request ? "REQUEST" : "", "ENGINEER", "DETAILS");
    for (const auto& e : entries) {
        std::string req = show_request ? printable(e.get("LOCKBOX_REQUEST_ID"), 36) : "";
        if (show_request && req.empty())
            req = "-";
        std::string eng = printable(e.get("LOCKBOX_ENGINEER"), 32);
        // sudo's own lines (sudo_records.h) carry no Lockbox event.
        std::string event = e.get("LOCKBOX_EVENT");
        if (event.empty())
            event = "(" + e.get("SYSLOG_IDENTIFIER") + ")";
        std::printf("%-20s  %-18s  %-16s  %-*s%-16s  %s\n", lockbox::format_rfc3339(e.realtime).c_str(),
                    printable(event, 32).c_str(), printable(e.get("LOCKBOX_ACTOR"), 32).c_str(), show_request ? 38 : 0,
                    req.c_str(), eng.empty() ? "-" : eng.c_str(), printable(details(e), 400, ' ').c_str());
    }
}

void print_json(const std::vector<Entry>& entries) {
    auto array = nlohmann::json::array();
    for (const auto& e : entries) {
        nlohmann::json obj = nlohmann::json::object();
        for (const auto& [name, value] : e.fields)
            if (printed_field(name))
                obj[name] = value;
        obj["timestamp"] = lockbox::format_rfc3339(e.realtime);
        obj["timestamp_usec"] = e.realtime;
        array.push_back(std::move(obj));
    }
    // Invalid UTF-8 from a sender is replaced, never a reason to fail the dump.
    std::string text = array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

// The columns of --csv carry the names and values --json does, so a tool can
// read either: the fields an auditor reads first in a fixed order (empty where
// an entry lacks one), then any other field present in the output, by name. A value that would start a spreadsheet formula gets a
// leading single quote (csv_text.h).
void print_csv(const std::vector<Entry>& entries) {
    const std::vector<std::string> leading = {
        "timestamp",          "timestamp_usec", "LOCKBOX_EVENT",  "LOCKBOX_ACTOR", "LOCKBOX_HOST", "LOCKBOX_ENGINEER",
        "LOCKBOX_REQUEST_ID", "LOCKBOX_TENANT", "LOCKBOX_TICKET", "MESSAGE",       "MESSAGE_ID",   "SYSLOG_IDENTIFIER"};
    std::set<std::string> others;
    for (const auto& e : entries)
        for (const auto& [name, value] : e.fields)
            if (printed_field(name) && std::find(leading.begin(), leading.end(), name) == leading.end())
                others.insert(name);
    std::vector<std::string> columns = leading;
    columns.insert(columns.end(), others.begin(), others.end());
    std::string header = csv_record(columns);
    std::fwrite(header.data(), 1, header.size(), stdout);
    for (const auto& e : entries) {
        std::vector<std::string> row;
        row.reserve(columns.size());
        for (const auto& name : columns) {
            if (name == "timestamp")
                row.push_back(lockbox::format_rfc3339(e.realtime));
            else if (name == "timestamp_usec")
                row.push_back(std::to_string(e.realtime));
            else
                row.push_back(e.get(name));
        }
        std::string line = csv_record(row);
        std::fwrite(line.data(), 1, line.size(), stdout);
    }
}

// With --request (and no filter sudo's lines cannot meet: --event, --actor,
// --host), sudo's own lines of the request's engineer within the grant's window
// join the trail (sudo_records.h): what an access level was used for.
lockbox::Status add_sudo_lines(const AuditOptions& o, const TimeWindow& window, std::vector<Entry>& entries) {
    if (o.request.empty() || !o.event.empty() || !o.actor.empty() || !o.host.empty() || entries.empty())
        return {};
    GrantWindow grant;
    grant.since = entries.front().realtime;
    grant.until = 0;
    for (const auto& e : entries) {
        if (grant.engineer.empty())
            grant.engineer = e.get("LOCKBOX_ENGINEER");
        const std::string event = e.get("LOCKBOX_EVENT");
        if (event == "grant-completed" || event == "grant-revoked")
            grant.until = std::max(grant.until, e.realtime);
    }
    if (grant.until == 0)
        grant.until = lockbox::system_clock().now();
    if (!o.engineer.empty() && o.engineer != grant.engineer)
        return {};
    grant.since = std::max(grant.since, window.since);
    grant.until = std::min(grant.until, window.until);
    auto lines = read_sudo_lines(grant, o.limit);
    if (!lines)
        return lines.error();
    for (auto& line : *lines)
        entries.push_back(Entry{line.realtime, std::move(line.fields)});
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.realtime < b.realtime; });
    return {};
}

int run_audit(const AuditOptions& o) {
    if (auto s = validate_filters(o); !s) {
        std::fprintf(stderr, "lockboxctl: %s\n", s.error().message.c_str());
        return EXIT_USAGE;
    }
    auto window = parse_window(o);
    if (!window) {
        std::fprintf(stderr, "lockboxctl: %s\n", window.error().message.c_str());
        return EXIT_USAGE;
    }
    if (o.limit == 0 || o.limit > MAX_LIMIT) {
        std::fprintf(stderr, "lockboxctl: --limit must be between 1 and %zu\n", MAX_LIMIT);
        return EXIT_USAGE;
    }
    bool truncated = false;
    auto entries = read_entries(o, *window, truncated);
    if (!entries)
        return fail(entries.error());
    if (auto s = add_sudo_lines(o, *window, *entries); !s)
        return fail(s.error());
    if (o.json)
        print_json(*entries);
    else if (o.csv)
        print_csv(*entries);
    else
        print_table(*entries, o.request.empty());
    if (truncated)
        std::fprintf(stderr,
                     "lockboxctl: showing the first %zu entries only; narrow with --since, --until, "
                     "--event, --actor, --engineer, --host or --request, or raise --limit\n",
                     o.limit);
    return std::fflush(stdout) == 0 ? EXIT_OK : fail(std::string("cannot write output: ") + std::strerror(errno));
}

}  // namespace

void register_audit_verb(CLI::App& app, Context& /*ctx*/, int& exit_code) {
    auto opts = std::make_shared<AuditOptions>();
    auto* sub = app.add_subcommand("audit", "show the audit trail from journald, oldest first");
    // An empty filter would read as no filter at all: a script's unset variable
    // must not widen the trail to everything.
    const CLI::Validator non_empty(
        [](std::string& value) { return value.empty() ? std::string("must not be empty") : std::string(); }, "",
        "non-empty");
    sub->add_option("--since", opts->since,
                    "only entries from this time on: RFC 3339 UTC, or a duration ago (2h or -2h)")
        ->check(non_empty);
    sub->add_option("--until", opts->until,
                    "only entries up to this time (inclusive): RFC 3339 UTC, or a duration ago (2h or -2h)")
        ->check(non_empty);
    sub->add_option("--event", opts->event, "only entries of this event (request-created, session-killed, ...)")
        ->check(non_empty);
    sub->add_option("--actor", opts->actor, "only entries whose LOCKBOX_ACTOR is exactly this")->check(non_empty);
    sub->add_option("--engineer", opts->engineer, "only entries whose LOCKBOX_ENGINEER is exactly this")
        ->check(non_empty);
    sub->add_option("--host", opts->host, "only entries whose LOCKBOX_HOST is exactly this")->check(non_empty);
    sub->add_option("--request", opts->request, "only entries about this request id")->check(non_empty);
    auto* json = sub->add_flag("--json", opts->json, "print a JSON array of entries with every LOCKBOX_* field");
    auto* csv = sub->add_flag("--csv", opts->csv,
                              "print RFC 4180 CSV with a header row; values starting with = + - @ get a leading '");
    json->excludes(csv);  // CLI11 makes exclusion symmetric
    sub->add_option("--limit", opts->limit, "print at most this many entries")->capture_default_str();
    sub->callback([opts, &exit_code] { exit_code = run_audit(*opts); });
}

}  // namespace lockboxctl

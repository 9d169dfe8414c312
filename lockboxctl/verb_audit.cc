// lockboxctl audit [--since T] [--until T] [--event E] [--actor A] [--engineer E]
// [--host H] [--request ID] [--json|--csv]: the audit trail as journald holds it
// (docs/design.md §7), oldest first; a table for people, JSON for tools, CSV for
// spreadsheets.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_event.h"
#include "audit_journal.h"
#include "audit_report.h"
#include "clock.h"
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

constexpr size_t DEFAULT_LIMIT = 10000;
constexpr size_t MAX_LIMIT = 1000000;
constexpr size_t MAX_FILTER_VALUE = 256;  // longer than any login, host name or actor Lockbox writes

struct AuditOptions {
    std::string since;
    std::string until;
    std::string directory;  // a collected journal; "" = this host's
    std::string event;
    std::string actor;
    std::string engineer;
    std::string host;
    std::string request;
    bool json = false;
    bool csv = false;
    size_t limit = DEFAULT_LIMIT;

    // Exact matches on journal fields, in the order they are checked.
    std::vector<std::pair<std::string, std::string>> field_filters() const {
        return {{"LOCKBOX_EVENT", event},
                {"LOCKBOX_ACTOR", actor},
                {"LOCKBOX_ENGINEER", engineer},
                {"LOCKBOX_HOST", host},
                {"LOCKBOX_REQUEST_ID", request}};
    }
};

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

std::string details(const JournalEntry& e) {
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

void print_table(const std::vector<JournalEntry>& entries, bool show_request) {
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

void print_json(const std::vector<JournalEntry>& entries) {
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
void print_csv(const std::vector<JournalEntry>& entries) {
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
lockbox::Status add_sudo_lines(const AuditOptions& o, const TimeWindow& window, std::vector<JournalEntry>& entries) {
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
    auto lines = read_sudo_lines(grant, o.limit, o.directory);
    if (!lines)
        return lines.error();
    for (auto& line : *lines)
        entries.push_back(JournalEntry{line.realtime, std::move(line.fields)});
    std::stable_sort(entries.begin(), entries.end(),
                     [](const JournalEntry& a, const JournalEntry& b) { return a.realtime < b.realtime; });
    return {};
}

int run_audit(const AuditOptions& o) {
    if (auto s = validate_filters(o); !s) {
        std::fprintf(stderr, "lockboxctl: %s\n", s.error().message.c_str());
        return EXIT_USAGE;
    }
    auto window = parse_window(o.since, o.until);
    if (!window) {
        std::fprintf(stderr, "lockboxctl: %s\n", window.error().message.c_str());
        return EXIT_USAGE;
    }
    if (o.limit == 0 || o.limit > MAX_LIMIT) {
        std::fprintf(stderr, "lockboxctl: --limit must be between 1 and %zu\n", MAX_LIMIT);
        return EXIT_USAGE;
    }
    bool truncated = false;
    auto entries = read_audit_entries(JournalQuery{*window, o.field_filters(), o.limit, o.directory}, truncated);
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
    sub->add_option("--directory", opts->directory,
                    "read a journal collected from several hosts (systemd-journal-remote's output directory) instead "
                    "of this host's")
        ->check(CLI::ExistingDirectory);
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
    register_audit_report(*sub, exit_code);
    // CLI11 runs the parent's callback after "audit report"'s own.
    sub->callback([opts, sub, &exit_code] {
        if (sub->get_subcommand("report")->parsed())
            return;
        exit_code = run_audit(*opts);
    });
}

}  // namespace lockboxctl

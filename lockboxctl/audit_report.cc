// The per-request compliance summary (audit_report.h). The report reads only the
// audit trail, never the approval store: it is what an auditor can check
// against journald on its own, and it outlives the store's retention.
#include "audit_report.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "csv_text.h"
#include "ctl.h"
#include "printable_text.h"
#include "time_format.h"

namespace lockboxctl {
namespace {

using lockbox::printable;
using lockbox::usec_t;

// Far more than any review window holds; a journal with more is named in the
// warning rather than silently cut.
constexpr size_t MAX_ENTRIES = 1000000;

struct ReportOptions {
    std::string since;
    std::string until;
    std::string directory;
    bool json = false;
    bool csv = false;
};

usec_t time_field(const JournalEntry& e, const char* name) {
    auto t = lockbox::parse_rfc3339(e.get(name));
    return t ? *t : 0;
}

usec_t seconds_field(const JournalEntry& e, const char* name) {
    const std::string text = e.get(name);
    if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
        return 0;
    return static_cast<usec_t>(std::stoull(text)) * lockbox::USEC_PER_SEC;
}

void add_host(RequestSummary& r, const std::string& host) {
    if (!host.empty() && std::find(r.hosts.begin(), r.hosts.end(), host) == r.hosts.end())
        r.hosts.push_back(host);
}

// The first end a request meets is how it ended: a revocation that lockboxd
// reports again on each host does not change who revoked it.
void set_end(RequestSummary& r, const JournalEntry& e, const char* how) {
    if (!r.ended.empty())
        return;
    r.ended = how;
    r.ended_by = e.get("LOCKBOX_ACTOR");
    r.ended_at = e.realtime;
    r.end_reason = e.get("LOCKBOX_REASON");
}

ReportSession* find_session(RequestSummary& r, const std::string& host, const std::string& id) {
    for (auto& s : r.sessions)
        if (s.id == id && s.host == host)
            return &s;
    return nullptr;
}

void end_session(RequestSummary& r, const JournalEntry& e, const char* how) {
    ReportSession* s = find_session(r, e.get("LOCKBOX_HOST"), e.get("LOCKBOX_SESSION_ID"));
    if (s && s->ended == 0) {
        s->ended = e.realtime;
        s->end = how;
    }
}

void apply(RequestSummary& r, const JournalEntry& e) {
    const std::string event = e.get("LOCKBOX_EVENT");
    if (r.ticket.empty())
        r.ticket = e.get("LOCKBOX_TICKET");
    if (r.tenant.empty())
        r.tenant = e.get("LOCKBOX_TENANT");
    if (r.engineer.empty())
        r.engineer = e.get("LOCKBOX_ENGINEER");
    if (event == "request-created") {
        r.filed_by = e.get("LOCKBOX_ACTOR");
        r.filed = e.realtime;
        r.reason = e.get("LOCKBOX_REASON");
        r.access = e.get("LOCKBOX_ACCESS");
        r.requested = seconds_field(e, "LOCKBOX_DURATION");
        std::string hosts = e.get("LOCKBOX_HOSTS");
        for (size_t at = 0; at < hosts.size();) {
            size_t space = hosts.find(' ', at);
            if (space == std::string::npos)
                space = hosts.size();
            add_host(r, hosts.substr(at, space - at));
            at = space + 1;
        }
    } else if (event == "manager-approved") {
        r.manager = e.get("LOCKBOX_ACTOR");
        r.manager_at = e.realtime;
    } else if (event == "approver-approved") {
        r.approver = e.get("LOCKBOX_ACTOR");
        r.approver_at = e.realtime;
        if (!e.get("LOCKBOX_ACCESS").empty())
            r.access = e.get("LOCKBOX_ACCESS");  // the approver may have narrowed it
    } else if (event == "grant-issued") {
        r.window_start = time_field(e, "LOCKBOX_NBF");
        r.window_end = time_field(e, "LOCKBOX_EXP");
    } else if (event == "grant-installed" || event == "grant-activated") {
        add_host(r, e.get("LOCKBOX_HOST"));
    } else if (event == "session-opened") {
        ReportSession s;
        s.id = e.get("LOCKBOX_SESSION_ID");
        s.host = e.get("LOCKBOX_HOST");
        s.from = e.get("LOCKBOX_RHOST");
        s.opened = e.realtime;
        s.recording = e.get("recording");
        add_host(r, s.host);
        r.sessions.push_back(std::move(s));
    } else if (event == "session-closed") {
        end_session(r, e, "closed");
    } else if (event == "session-killed") {
        r.kills++;
        end_session(r, e, "killed");
    } else if (event == "request-denied") {
        set_end(r, e, "denied");
    } else if (event == "request-cancelled") {
        set_end(r, e, "cancelled");
    } else if (event == "request-expired") {
        set_end(r, e, "expired-pending");
    } else if (event == "grant-revoked") {
        set_end(r, e, "revoked");
    } else if (event == "grant-released") {
        set_end(r, e, "released");
    } else if (event == "grant-completed") {
        set_end(r, e, "expired");
    }
}

std::string when(usec_t t) { return t == 0 ? std::string() : lockbox::format_rfc3339(t); }

std::string duration_text(usec_t d) { return lockbox::format_duration(d); }

usec_t window_length(const RequestSummary& r) {
    return r.window_end > r.window_start ? r.window_end - r.window_start : 0;
}

usec_t session_length(const ReportSession& s) { return s.ended > s.opened ? s.ended - s.opened : 0; }

std::string join(const std::vector<std::string>& words, const char* sep) {
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : sep) + w;
    return out;
}

// "c1 on db01 from 10.0.0.5, 2026-12-03T10:00:00Z to 2026-12-03T10:30:00Z (30m, closed), recording 8f3e-1"
std::string session_text(const ReportSession& s) {
    std::string t = s.id + " on " + s.host;
    if (!s.from.empty())
        t += " from " + s.from;
    t += ", " + when(s.opened) + " to " +
         (s.ended ? when(s.ended) + " (" + duration_text(session_length(s)) + ", " + s.end + ")"
                  : std::string("(still open)"));
    if (!s.recording.empty())
        t += ", recording " + s.recording;
    return t;
}

std::string ended_text(const RequestSummary& r) {
    if (r.ended.empty())
        return "-";
    std::string t = r.ended;
    if (!r.ended_by.empty())
        t += " by " + r.ended_by;
    return t + " at " + when(r.ended_at);
}

std::string or_dash(std::string s) { return s.empty() ? "-" : s; }

// One block per request: the values are free text from requesters (reason,
// ticket) and from journald, so every one goes through printable().
void print_table(const std::vector<RequestSummary>& report) {
    for (const auto& r : report) {
        auto line = [](const char* label, const std::string& value) {
            std::printf("  %-10s %s\n", label, printable(value, 1000, ' ').c_str());
        };
        std::printf("request %s\n", printable(r.id, 64).c_str());
        line("ticket", or_dash(r.ticket));
        line("engineer", or_dash(r.engineer));
        line("reason", or_dash(r.reason));
        line("filed", r.filed ? when(r.filed) + " by " + r.filed_by : "-");
        line("manager", r.manager_at ? when(r.manager_at) + " by " + r.manager : "-");
        line("approver", r.approver_at ? when(r.approver_at) + " by " + r.approver : "-");
        line("access", or_dash(r.access));
        line("window", r.window_end ? when(r.window_start) + " to " + when(r.window_end) + " (" +
                                          duration_text(window_length(r)) + ")"
                                    : "-");
        line("hosts", or_dash(join(r.hosts, " ")));
        line("sessions", std::to_string(r.sessions.size()) +
                             (r.sessions.empty() ? "" : ", " + duration_text(r.session_total()) + " in all"));
        for (const auto& s : r.sessions)
            line("", session_text(s));
        line("kills", std::to_string(r.kills));
        line("ended", ended_text(r) + (r.end_reason.empty() ? "" : ": " + r.end_reason));
        std::printf("\n");
    }
    std::printf("%zu request%s\n", report.size(), report.size() == 1 ? "" : "s");
}

nlohmann::json optional_time(usec_t t) { return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(when(t)); }

nlohmann::json to_json(const RequestSummary& r) {
    nlohmann::json sessions = nlohmann::json::array();
    for (const auto& s : r.sessions)
        sessions.push_back({{"id", s.id},
                            {"host", s.host},
                            {"from", s.from},
                            {"opened", when(s.opened)},
                            {"ended", optional_time(s.ended)},
                            {"end", s.end},
                            {"duration_sec", session_length(s) / lockbox::USEC_PER_SEC},
                            {"recording", s.recording}});
    return {{"request_id", r.id},
            {"tenant", r.tenant},
            {"ticket", r.ticket},
            {"engineer", r.engineer},
            {"reason", r.reason},
            {"filed_by", r.filed_by},
            {"filed", optional_time(r.filed)},
            {"requested_duration_sec", r.requested / lockbox::USEC_PER_SEC},
            {"manager", r.manager},
            {"manager_approved", optional_time(r.manager_at)},
            {"approver", r.approver},
            {"approver_approved", optional_time(r.approver_at)},
            {"access", r.access},
            {"window_start", optional_time(r.window_start)},
            {"window_end", optional_time(r.window_end)},
            {"window_duration_sec", window_length(r) / lockbox::USEC_PER_SEC},
            {"hosts", r.hosts},
            {"session_count", r.sessions.size()},
            {"session_total_sec", r.session_total() / lockbox::USEC_PER_SEC},
            {"sessions", sessions},
            {"kills", r.kills},
            {"ended", r.ended},
            {"ended_by", r.ended_by},
            {"ended_at", optional_time(r.ended_at)},
            {"end_reason", r.end_reason}};
}

void print_json(const std::vector<RequestSummary>& report) {
    auto array = nlohmann::json::array();
    for (const auto& r : report)
        array.push_back(to_json(r));
    // Invalid UTF-8 from a sender is replaced, never a reason to fail the report.
    std::string text = array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

// The JSON object's keys as columns, in its order (nlohmann sorts them, so the
// order is fixed here instead); hosts and sessions joined into one cell each.
void print_csv(const std::vector<RequestSummary>& report) {
    const std::vector<std::string> columns = {"request_id",
                                              "tenant",
                                              "ticket",
                                              "engineer",
                                              "reason",
                                              "filed_by",
                                              "filed",
                                              "requested_duration_sec",
                                              "manager",
                                              "manager_approved",
                                              "approver",
                                              "approver_approved",
                                              "access",
                                              "window_start",
                                              "window_end",
                                              "window_duration_sec",
                                              "hosts",
                                              "session_count",
                                              "session_total_sec",
                                              "sessions",
                                              "kills",
                                              "ended",
                                              "ended_by",
                                              "ended_at",
                                              "end_reason"};
    std::string header = csv_record(columns);
    std::fwrite(header.data(), 1, header.size(), stdout);
    for (const auto& r : report) {
        nlohmann::json obj = to_json(r);
        std::vector<std::string> row;
        for (const auto& name : columns) {
            const auto& v = obj[name];
            if (name == "hosts")
                row.push_back(join(r.hosts, " "));
            else if (name == "sessions") {
                std::vector<std::string> each;
                for (const auto& s : r.sessions)
                    each.push_back(session_text(s));
                row.push_back(join(each, "; "));
            } else if (v.is_null())
                row.push_back("");
            else if (v.is_string())
                row.push_back(v.get<std::string>());
            else
                row.push_back(v.dump());
        }
        std::string line = csv_record(row);
        std::fwrite(line.data(), 1, line.size(), stdout);
    }
}

int run_report(const ReportOptions& o) {
    auto window = parse_window(o.since, o.until);
    if (!window) {
        std::fprintf(stderr, "lockboxctl: %s\n", window.error().message.c_str());
        return EXIT_USAGE;
    }
    bool truncated = false;
    auto entries = read_audit_entries(JournalQuery{*window, {}, MAX_ENTRIES, o.directory}, truncated);
    if (!entries)
        return fail(entries.error());
    auto report = summarize_requests(*entries);
    if (o.json)
        print_json(report);
    else if (o.csv)
        print_csv(report);
    else
        print_table(report);
    if (truncated)
        std::fprintf(stderr,
                     "lockboxctl: the window holds more than %zu audit entries; the report covers the first "
                     "ones only: narrow it with --since and --until\n",
                     MAX_ENTRIES);
    return std::fflush(stdout) == 0 ? EXIT_OK : fail(std::string("cannot write output: ") + std::strerror(errno));
}

}  // namespace

usec_t RequestSummary::session_total() const {
    usec_t total = 0;
    for (const auto& s : sessions)
        total += session_length(s);
    return total;
}

std::vector<RequestSummary> summarize_requests(const std::vector<JournalEntry>& entries) {
    std::vector<RequestSummary> out;
    std::map<std::string, size_t> index;
    for (const auto& e : entries) {
        const std::string id = e.get("LOCKBOX_REQUEST_ID");
        if (id.empty())
            continue;
        auto [it, inserted] = index.emplace(id, out.size());
        if (inserted) {
            out.emplace_back();
            out.back().id = id;
            out.back().first_seen = e.realtime;
        }
        apply(out[it->second], e);
    }
    return out;
}

void register_audit_report(CLI::App& audit, int& exit_code) {
    auto opts = std::make_shared<ReportOptions>();
    auto* sub = audit.add_subcommand("report", "summarize each request for a compliance review, from the audit trail");
    const CLI::Validator non_empty(
        [](std::string& value) { return value.empty() ? std::string("must not be empty") : std::string(); }, "",
        "non-empty");
    sub->add_option("--since", opts->since,
                    "requests with an audit entry from this time on: RFC 3339 UTC, or a duration ago (2h or -2h)")
        ->check(non_empty);
    sub->add_option("--until", opts->until,
                    "requests with an audit entry up to this time (inclusive): RFC 3339 UTC, or a duration ago")
        ->check(non_empty);
    sub->add_option("--directory", opts->directory,
                    "read a journal collected from several hosts (systemd-journal-remote's output directory)")
        ->check(CLI::ExistingDirectory);
    auto* json = sub->add_flag("--json", opts->json, "print a JSON array, one object per request");
    auto* csv = sub->add_flag("--csv", opts->csv, "print RFC 4180 CSV, one row per request, with a header row");
    json->excludes(csv);
    sub->callback([opts, &exit_code] { exit_code = run_report(*opts); });
}

}  // namespace lockboxctl

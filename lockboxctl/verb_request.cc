// lockboxctl request create|list|show|approve|deny|cancel: the access-request
// workflow on org.lockbox.Approval1. The caller's role comes from the bus
// credentials; this file only shapes arguments and prints results.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "enforcer_client.h"
#include "list_page.h"
#include "list_pages.h"
#include "names.h"
#include "time_format.h"

namespace lockboxctl {
namespace {

struct RequestArgs {
    std::string tenant;
    std::string ticket;
    std::vector<std::string> hosts;
    std::string duration;
    std::string reason;
    std::vector<std::string> ssh_key_files;
    std::string engineer;
    std::string start;
    std::string state;
    std::string id;
    std::string comment;
    std::string access;
    uint32_t limit = 0;  // request list --limit: one page; 0 = every page
    std::string cursor;
};

constexpr size_t MAX_KEY_FILE = lockbox::MAX_SSH_KEY * lockbox::MAX_SSH_KEYS;

int usage(const std::string& message) {
    std::fprintf(stderr, "lockboxctl: %s\n", message.c_str());
    return EXIT_USAGE;
}

// Every non-empty, non-comment line of an authorized_keys-style public key file.
lockbox::Result<std::vector<std::string>> read_ssh_keys(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "cannot read the SSH public key file " + path);
    std::string text(MAX_KEY_FILE + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > MAX_KEY_FILE)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, path + " is too large for a public key file");
    std::vector<std::string> keys;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#')
            continue;
        line = line.substr(start);
        if (!lockbox::is_valid_ssh_public_key(line))
            return lockbox::make_error(lockbox::Errc::InvalidArgument,
                                       path +
                                           " holds a line that is not an OpenSSH public key "
                                           "(did you pass the private key?)");
        keys.push_back(line);
    }
    if (keys.empty())
        return lockbox::make_error(lockbox::Errc::InvalidArgument, path + " holds no SSH public key");
    return keys;
}

lockbox::Result<uint64_t> duration_seconds(const std::string& text) {
    auto d = lockbox::parse_duration(text);
    if (!d)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "--duration: " + d.error().message);
    if (*d < lockbox::USEC_PER_SEC)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "--duration: must be at least 1s");
    return static_cast<uint64_t>(*d / lockbox::USEC_PER_SEC);
}

// --start: an RFC 3339 UTC time or "+2h" from now, as microseconds since the
// epoch for the bus (0 when not given). How far ahead is the service's call.
lockbox::Result<uint64_t> start_usec(const std::string& text) {
    if (text.empty())
        return uint64_t{0};
    if (text.front() == '+') {
        auto d = lockbox::parse_duration(std::string_view(text).substr(1));
        if (!d)
            return lockbox::make_error(lockbox::Errc::InvalidArgument, "--start: " + d.error().message);
        return static_cast<uint64_t>(lockbox::system_clock().now() + *d);
    }
    auto t = lockbox::parse_rfc3339(text);
    if (!t || *t <= 0)
        return lockbox::make_error(lockbox::Errc::InvalidArgument,
                                   "--start: expected an RFC 3339 UTC time (2026-12-24T02:00:00Z) or +DURATION (+2h)");
    return static_cast<uint64_t>(*t);
}

std::string seconds_text(const nlohmann::json& v) {
    if (!v.is_number_integer())
        return json_str(nlohmann::json{{"v", v}}, "v");
    return lockbox::format_duration(v.get<int64_t>() * lockbox::USEC_PER_SEC);
}

// What the engineer may do, in capitals so that nobody approves past it:
// "ADMIN", or "USER (requested ADMIN)" once an approver lowered it; "-" for
// requests filed before access levels.
std::string access_text(const nlohmann::json& r) {
    auto upper = [](std::string s) {
        for (auto& c : s)
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        return s;
    };
    const std::string access = json_str(r, "access"), requested = json_str(r, "requested_access");
    if (access.empty())
        return "-";
    if (requested.empty() || requested == access)
        return upper(access);
    return upper(access) + " (requested " + upper(requested) + ")";
}

void print_table(const nlohmann::json& list) {
    std::printf("%-36s  %-16s  %-12s  %-10s  %-14s  %-8s  %-20s  %s\n", "ID", "STATE", "ENGINEER", "ACCESS", "TICKET",
                "DURATION", "CREATED", "HOSTS");
    for (const auto& r : list)
        std::printf("%-36s  %-16s  %-12s  %-10s  %-14s  %-8s  %-20s  %s\n", json_str(r, "id").c_str(),
                    json_str(r, "state").c_str(), json_str(r, "engineer").c_str(), access_text(r).c_str(),
                    json_str(r, "ticket").c_str(), seconds_text(r.value("duration", nlohmann::json())).c_str(),
                    json_str(r, "created_at").c_str(), json_str(r, "hosts").c_str());
}

void print_details(const nlohmann::json& r) {
    auto line = [](const char* label, const std::string& value) {
        if (!value.empty())
            std::printf("%-14s %s\n", label, value.c_str());
    };
    line("ID:", json_str(r, "id"));
    line("State:", json_str(r, "state"));
    line("Tenant:", json_str(r, "tenant"));
    line("Ticket:", json_str(r, "ticket"));
    line("Engineer:", json_str(r, "engineer"));
    line("Access:", access_text(r));
    line("Hosts:", json_str(r, "hosts"));
    line("Duration:", seconds_text(r.value("duration", nlohmann::json())));
    line("Reason:", json_str(r, "reason"));
    line("Created by:", json_str(r, "created_by") + " at " + json_str(r, "created_at"));
    if (json_str(r, "state").rfind("pending", 0) == 0)
        line("Pending until:", json_str(r, "pending_until"));
    line("Starts:", json_str(r, "start"));
    if (r.contains("approvals"))
        for (const auto& a : r["approvals"]) {
            std::string text = json_str(a, "user") + " at " + json_str(a, "at");
            if (!json_str(a, "comment").empty())
                text += " (" + json_str(a, "comment") + ")";
            line(json_str(a, "role") == "manager" ? "Manager:" : "Approver:", text);
        }
    if (r.contains("closed_by")) {
        std::string text = json_str(r, "closed_by") + " at " + json_str(r, "closed_at");
        if (!json_str(r, "close_reason").empty())
            text += ": " + json_str(r, "close_reason");
        line("Closed by:", text);
    }
    if (r.contains("nbf"))
        line("Valid:", json_str(r, "nbf") + " to " + json_str(r, "exp"));
    if (r.contains("ssh_keys"))
        for (const auto& k : r["ssh_keys"])
            line("SSH key:", k.is_string() ? k.get<std::string>() : "");
}

// One call that answers nothing or one string; prints errors, returns the exit code.
int call(Context& ctx, const char* method, const std::function<int(sd_bus_message*)>& append, std::string* out) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    ReplyPtr reply = call_method(bus->get(), APPROVAL, method, append, ctx.timeout_usec, &f);
    if (!reply)
        return fail(f.message);
    if (out) {
        const char* s = nullptr;
        if (sd_bus_message_read(reply.get(), "s", &s) < 0 || !s)
            return fail(std::string("malformed reply from lockbox-approvald to ") + method);
        *out = s;
    }
    return EXIT_OK;
}

// NULL-terminated view for sd_bus_message_append_strv; valid while v lives.
std::vector<const char*> as_strv(const std::vector<std::string>& v) {
    std::vector<const char*> out;
    for (const auto& s : v)
        out.push_back(s.c_str());
    out.push_back(nullptr);
    return out;
}

int run_create(Context& ctx, const RequestArgs& a) {
    std::string tenant = a.tenant;
    if (tenant.empty()) {
        auto config = ctx.config();
        if (config)
            tenant = config->tenant;
        if (tenant.empty())
            return usage("--tenant is required (no [Host] Tenant= in the configuration)");
    }
    auto seconds = duration_seconds(a.duration);
    if (!seconds)
        return usage(seconds.error().message);
    auto start = start_usec(a.start);
    if (!start)
        return usage(start.error().message);
    std::vector<std::string> keys;
    for (const auto& file : a.ssh_key_files) {
        auto k = read_ssh_keys(file);
        if (!k)
            return usage(k.error().message);
        keys.insert(keys.end(), k->begin(), k->end());
    }
    std::vector<const char*> hosts = as_strv(a.hosts);
    std::vector<const char*> key_strv = as_strv(keys);
    std::string id;
    int rc = call(
        ctx, "CreateRequest",
        [&](sd_bus_message* m) {
            int r = sd_bus_message_append(m, "ss", tenant.c_str(), a.ticket.c_str());
            if (r >= 0)
                r = sd_bus_message_append_strv(m, const_cast<char**>(hosts.data()));
            if (r >= 0)
                r = sd_bus_message_append(m, "ts", *seconds, a.reason.c_str());
            if (r >= 0)
                r = sd_bus_message_append_strv(m, const_cast<char**>(key_strv.data()));
            if (r >= 0)
                r = sd_bus_message_append(m, "sts", a.engineer.c_str(), *start, a.access.c_str());
            return r;
        },
        &id);
    if (rc == EXIT_OK)
        std::printf("%s\n", id.c_str());
    return rc;
}

// Without --limit, every page from --cursor (or the newest) on, printed as
// one list; with --limit, that one page and where the next starts.
int run_list(Context& ctx, const RequestArgs& a) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    auto state = [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", a.state.c_str()); };
    CallFailure f;
    if (a.limit == 0) {
        auto all = fetch_all_pages(bus->get(), APPROVAL, "ListRequestsPage", state, a.cursor, ctx.timeout_usec, &f);
        if (!all && method_unknown(f) && a.cursor.empty()) {
            // A service older than ListRequestsPage: its one-reply list.
            std::string text;
            if (int rc = call(ctx, "ListRequests", state, &text); rc != EXIT_OK)
                return rc;
            all = parse_json_reply(text, "lockbox-approvald");
            if (!all || !all->is_array())
                return fail("malformed request list from lockbox-approvald");
        }
        if (!all)
            return fail(all.error());
        if (ctx.json)
            std::printf("%s\n", all->dump(2).c_str());
        else
            print_table(*all);
        return EXIT_OK;
    }
    auto page =
        fetch_list_page(bus->get(), APPROVAL, "ListRequestsPage", state, a.cursor, a.limit, ctx.timeout_usec, &f);
    if (!page)
        return fail(page.error());
    if (ctx.json) {
        std::printf("%s\n",
                    nlohmann::json{{"requests", page->items}, {"next_cursor", page->next_cursor}}.dump(2).c_str());
    } else {
        print_table(page->items);
        print_next_cursor_hint("requests", page->next_cursor);
    }
    return EXIT_OK;
}

int run_show(Context& ctx, const RequestArgs& a) {
    std::string text;
    int rc = call(
        ctx, "GetRequest", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", a.id.c_str()); }, &text);
    if (rc != EXIT_OK)
        return rc;
    auto obj = parse_json_reply(text, "lockbox-approvald");
    if (!obj || !obj->is_object())
        return fail("malformed request from lockbox-approvald");
    if (ctx.json)
        std::printf("%s\n", obj->dump(2).c_str());
    else
        print_details(*obj);
    return EXIT_OK;
}

int run_approve(Context& ctx, const RequestArgs& a) {
    uint64_t seconds = 0;
    if (!a.duration.empty()) {
        auto s = duration_seconds(a.duration);
        if (!s)
            return usage(s.error().message);
        seconds = *s;
    }
    std::string state;
    int rc = call(
        ctx, "ApproveRequest",
        [&](sd_bus_message* m) {
            return sd_bus_message_append(m, "stss", a.id.c_str(), seconds, a.comment.c_str(), a.access.c_str());
        },
        &state);
    if (rc == EXIT_OK)
        std::printf("%s\n", state.c_str());
    return rc;
}

int run_deny(Context& ctx, const RequestArgs& a) {
    return call(
        ctx, "DenyRequest",
        [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", a.id.c_str(), a.reason.c_str()); }, nullptr);
}

int run_cancel(Context& ctx, const RequestArgs& a) {
    return call(
        ctx, "CancelRequest", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", a.id.c_str()); }, nullptr);
}

}  // namespace

void register_request_verbs(CLI::App& app, Context& ctx, int& exit_code) {
    auto a = std::make_shared<RequestArgs>();
    auto* req = app.add_subcommand("request", "File, review, approve and deny access requests");
    req->require_subcommand(1);

    auto* create = req->add_subcommand("create", "File an access request; prints its id");
    create->add_option("--tenant", a->tenant, "tenant (default: [Host] Tenant=)");
    create->add_option("--ticket", a->ticket, "support ticket number")->required();
    create->add_option("--host", a->hosts, "target host (repeat for more)")->required();
    create->add_option("--duration", a->duration, "how long, e.g. 2h or 90m (at most [Policy] MaxGrant)")->required();
    create->add_option("--reason", a->reason, "why access is needed")->required();
    create->add_option("--ssh-key", a->ssh_key_files, "OpenSSH public key file (repeat for more)")->required();
    create->add_option("--engineer", a->engineer, "engineer's login name (default: you; managers only)");
    create->add_option("--start", a->start,
                       "a later start (maintenance window): RFC 3339 UTC or +DURATION, at most 7 days ahead");
    create->add_option("--access", a->access,
                       "access level, one of [Access] Levels= (default: the first, least privileged)");
    create->callback([&ctx, a, &exit_code] { exit_code = run_create(ctx, *a); });

    auto* list = req->add_subcommand("list", "List requests you may see");
    list->add_option("--state", a->state, "only requests in this state")
        ->check(CLI::IsMember({"pending-manager", "pending-approver", "approved", "active", "denied", "expired",
                               "cancelled", "revoked", "released", "completed"}));
    list->add_option("--limit", a->limit,
                     "one page of at most N requests, newest first; prints where the next page starts")
        ->check(CLI::Range(1u, lockbox::MAX_PAGE_LIMIT));
    list->add_option("--cursor", a->cursor, "start after the page that printed this cursor");
    list->add_flag("--json", ctx.json, "print a JSON array (with --limit: an object with requests and next_cursor)");
    list->callback([&ctx, a, &exit_code] { exit_code = run_list(ctx, *a); });

    auto* show = req->add_subcommand("show", "Show one request");
    show->add_option("ID", a->id, "request id")->required();
    show->add_flag("--json", ctx.json, "print a JSON object");
    show->callback([&ctx, a, &exit_code] { exit_code = run_show(ctx, *a); });

    auto* approve = req->add_subcommand("approve", "Approve at your stage (manager or approver); prints the new state");
    approve->add_option("ID", a->id, "request id")->required();
    approve->add_option("--duration", a->duration, "shorten the window, e.g. 1h");
    approve->add_option("--comment", a->comment, "note kept with the approval");
    approve->add_option("--access", a->access, "lower the access level (never raise it)");
    approve->callback([&ctx, a, &exit_code] { exit_code = run_approve(ctx, *a); });

    auto* deny = req->add_subcommand("deny", "Deny a pending request");
    deny->add_option("ID", a->id, "request id")->required();
    deny->add_option("--reason", a->reason, "why")->required();
    deny->callback([&ctx, a, &exit_code] { exit_code = run_deny(ctx, *a); });

    auto* cancel = req->add_subcommand("cancel", "Withdraw a pending request you filed or that names you");
    cancel->add_option("ID", a->id, "request id")->required();
    cancel->callback([&ctx, a, &exit_code] { exit_code = run_cancel(ctx, *a); });
}

}  // namespace lockboxctl

// lockboxctl grant list|show|revoke|release|export|import. On a tenant host root sees the
// grants lockboxd enforces; everyone else (and --source approval) sees what the
// approval service issued. Revocation goes through the approval service, which
// records and signals it; root may revoke locally when it is unreachable
// (offline hosts) or with --local. Release ("I'm done", the grant's engineer or
// a manager) takes the same way, through the approval service only.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <unistd.h>

#include "enforcer_client.h"
#include "list_page.h"
#include "list_pages.h"
#include "names.h"

namespace lockboxctl {

namespace {

struct GrantOptions {
    std::string id;
    std::string reason;
    std::string token;
    std::string source;  // "", "enforcer", "approval"
    bool local = false;
    uint32_t limit = 0;  // grant list --limit: one page; 0 = every page
    std::string cursor;
};

bool use_enforcer(const GrantOptions& o) {
    if (o.source == "enforcer")
        return true;
    if (o.source == "approval")
        return false;
    return geteuid() == 0;
}

void print_grant_table(const nlohmann::json& arr) {
    std::printf("%-36s  %-10s  %-16s  %-12s  %-20s  %-20s\n", "ID", "STATE", "ENGINEER", "TICKET", "NBF", "EXP");
    for (const auto& g : arr)
        std::printf("%-36s  %-10s  %-16s  %-12s  %-20s  %-20s\n", json_str(g, "id").c_str(),
                    json_str(g, "state").c_str(), json_str(g, "engineer").c_str(), json_str(g, "ticket").c_str(),
                    json_str(g, "nbf").c_str(), json_str(g, "exp").c_str());
}

void print_object(const nlohmann::json& obj) {
    for (const auto& [k, v] : obj.items())
        std::printf("%-14s %s\n", (k + ":").c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

// A request carries a grant once it was signed.
bool carries_grant(const nlohmann::json& request) {
    const std::string st = json_str(request, "state");
    return st == "approved" || st == "active" || st == "revoked" || st == "released" || st == "completed";
}

// lockboxd's grants (root): with o.limit one page, else every page from
// o.cursor on. *fell_back: the daemon predates ListGrantsPage and answered
// its one-reply list instead.
lockbox::Result<ListPageReply> fetch_enforcer_grants(const Context& ctx, sd_bus* bus, const GrantOptions& o,
                                                     bool* fell_back) {
    CallFailure f;
    if (o.limit != 0)
        return fetch_list_page(bus, ENFORCER, "ListGrantsPage", {}, o.cursor, o.limit, ctx.timeout_usec, &f);
    auto all = fetch_all_pages(bus, ENFORCER, "ListGrantsPage", {}, o.cursor, ctx.timeout_usec, &f);
    if (all)
        return ListPageReply{std::move(*all), ""};
    if (!method_unknown(f) || !o.cursor.empty())
        return all.error();
    *fell_back = true;
    auto s = call_for_string(bus, ENFORCER, "ListGrants", {}, ctx.timeout_usec, &f);
    if (!s)
        return s.error();
    auto one = parse_json_reply(*s, "lockboxd");
    if (!one || !one->is_array())
        return lockbox::make_error(lockbox::Errc::Malformed, "malformed grant list from lockboxd");
    return ListPageReply{std::move(*one), ""};
}

// The approval service's grants: its requests that carry one. With o.limit,
// pages are asked for until o.limit grants are found or the list ends, each
// for no more requests than grants still missing, so the cursor of the last
// page is exactly where the next grant page starts.
lockbox::Result<ListPageReply> fetch_approval_grants(const Context& ctx, sd_bus* bus, const GrantOptions& o) {
    auto all_states = [](sd_bus_message* m) { return sd_bus_message_append(m, "s", ""); };
    CallFailure f;
    ListPageReply out;
    if (o.limit == 0) {
        auto all = fetch_all_pages(bus, APPROVAL, "ListRequestsPage", all_states, o.cursor, ctx.timeout_usec, &f);
        if (!all && method_unknown(f) && o.cursor.empty()) {
            auto s = call_for_string(bus, APPROVAL, "ListRequests", all_states, ctx.timeout_usec, &f);
            if (!s)
                return s.error();
            all = parse_json_reply(*s, "lockbox-approvald");
            if (!all || !all->is_array())
                return lockbox::make_error(lockbox::Errc::Malformed, "malformed request list from lockbox-approvald");
        }
        if (!all)
            return all.error();
        for (const auto& r : *all)
            if (carries_grant(r))
                out.items.push_back(r);
        return out;
    }
    out.next_cursor = o.cursor;
    do {
        const auto missing = static_cast<uint32_t>(o.limit - out.items.size());
        auto page = fetch_list_page(bus, APPROVAL, "ListRequestsPage", all_states, out.next_cursor, missing,
                                    ctx.timeout_usec, &f);
        if (!page)
            return page.error();
        for (const auto& r : page->items)
            if (carries_grant(r))
                out.items.push_back(r);
        out.next_cursor = page->next_cursor;
    } while (out.items.size() < o.limit && !out.next_cursor.empty());
    return out;
}

lockbox::Result<ListPageReply> fetch_grants(const Context& ctx, sd_bus* bus, const GrantOptions& o,
                                            bool* fell_back = nullptr) {
    bool ignored = false;
    return use_enforcer(o) ? fetch_enforcer_grants(ctx, bus, o, fell_back ? fell_back : &ignored)
                           : fetch_approval_grants(ctx, bus, o);
}

// An older lockboxd lists the newest grants that fit one bus reply; Status counts all.
void note_unlisted_grants(const Context& ctx, sd_bus* bus, size_t listed) {
    CallFailure f;
    auto s = call_for_string(bus, ENFORCER, "Status", {}, ctx.timeout_usec, &f);
    if (!s)
        return;
    auto status = nlohmann::json::parse(*s, nullptr, false);
    if (!status.is_object() || !status.contains("grants") || !status["grants"].is_object())
        return;
    size_t total = 0;
    for (const auto& [state, n] : status["grants"].items())
        if (n.is_number_unsigned())
            total += n.get<size_t>();
    if (total > listed)
        std::fprintf(stderr, "lockboxctl: %zu of %zu grants listed, newest first (one bus reply holds no more)\n",
                     listed, total);
}

int grant_list(Context& ctx, const GrantOptions& o) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    bool fell_back = false;
    auto grants = fetch_grants(ctx, bus->get(), o, &fell_back);
    if (!grants)
        return fail(grants.error());
    if (ctx.json && o.limit != 0)
        std::printf("%s\n",
                    nlohmann::json{{"grants", grants->items}, {"next_cursor", grants->next_cursor}}.dump(2).c_str());
    else if (ctx.json)
        std::printf("%s\n", grants->items.dump(2).c_str());
    else
        print_grant_table(grants->items);
    if (!ctx.json && o.limit != 0)
        print_next_cursor_hint("grants", grants->next_cursor);
    if (fell_back)
        note_unlisted_grants(ctx, bus->get(), grants->items.size());
    return EXIT_OK;
}

int grant_show(Context& ctx, const GrantOptions& o) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    GrantOptions every = o;
    every.limit = 0;
    every.cursor.clear();
    auto grants = fetch_grants(ctx, bus->get(), every);
    if (!grants)
        return fail(grants.error());
    for (const auto& g : grants->items) {
        if (json_str(g, "id") != o.id)
            continue;
        nlohmann::json obj = g;
        if (!obj.contains("jti"))
            obj["jti"] = o.id;
        if (ctx.json)
            std::printf("%s\n", obj.dump(2).c_str());
        else
            print_object(obj);
        return EXIT_OK;
    }
    return fail("no grant with id " + o.id);
}

int grant_revoke(Context& ctx, const GrantOptions& o) {
    if (!lockbox::is_valid_uuid(o.id))
        return fail("not a grant id (expected a UUID): " + o.id);
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    auto append = [&o](sd_bus_message* m) { return sd_bus_message_append(m, "ss", o.id.c_str(), o.reason.c_str()); };
    CallFailure f;
    if (!o.local) {
        if (call_method(bus->get(), APPROVAL, "RevokeGrant", append, ctx.timeout_usec, &f))
            return EXIT_OK;
        if (!service_missing(f) || geteuid() != 0)
            return fail(f.message);
        std::fprintf(stderr, "lockboxctl: the approval service is not running; revoking on this host only\n");
    }
    if (!call_method(bus->get(), ENFORCER, "RevokeGrant", append, ctx.timeout_usec, &f))
        return fail(f.message);
    return EXIT_OK;
}

int grant_release(Context& ctx, const GrantOptions& o) {
    if (!lockbox::is_valid_uuid(o.id))
        return fail("not a grant id (expected a UUID): " + o.id);
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    if (!call_method(
            bus->get(), APPROVAL, "ReleaseGrant",
            [&o](sd_bus_message* m) { return sd_bus_message_append(m, "s", o.id.c_str()); }, ctx.timeout_usec, &f))
        return fail(f.message);
    return EXIT_OK;
}

int grant_export(Context& ctx, const GrantOptions& o) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    auto token = call_for_string(
        bus->get(), APPROVAL, "ExportGrant",
        [&o](sd_bus_message* m) { return sd_bus_message_append(m, "s", o.id.c_str()); }, ctx.timeout_usec, &f);
    if (!token)
        return fail(token.error());
    std::printf("%s\n", token->c_str());
    return EXIT_OK;
}

int grant_import(Context& ctx, const GrantOptions& o) {
    std::string token = o.token;
    if (token == "-") {
        token.clear();
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
            token.append(buf, n);
            if (token.size() > lockbox::bus::MAX_TOKEN + 2)
                return fail("the token on standard input is larger than " + std::to_string(lockbox::bus::MAX_TOKEN) +
                            " bytes");
        }
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    while (!token.empty() && (token.front() == ' ' || token.front() == '\n'))
        token.erase(token.begin());
    if (token.empty())
        return fail("no token given");
    if (token.size() > lockbox::bus::MAX_TOKEN)
        return fail("the token is larger than " + std::to_string(lockbox::bus::MAX_TOKEN) + " bytes");
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    auto id = call_for_string(
        bus->get(), ENFORCER, "ImportGrant",
        [&token](sd_bus_message* m) { return sd_bus_message_append(m, "s", token.c_str()); }, ctx.timeout_usec, &f);
    if (!id)
        return fail(id.error());
    std::printf("%s\n", id->c_str());
    return EXIT_OK;
}

}  // namespace

void register_grant_verbs(CLI::App& app, Context& ctx, int& exit_code) {
    static GrantOptions opts;
    auto* grant = app.add_subcommand("grant", "Grants: list, show, revoke, release, export, import");
    grant->require_subcommand(1);

    auto add_source = [](CLI::App* sub) {
        sub->add_option("--source", opts.source, "where to read grants: enforcer (this host) or approval")
            ->check(CLI::IsMember({"enforcer", "approval"}));
    };
    auto* list = grant->add_subcommand("list", "List grants");
    list->add_option("--limit", opts.limit,
                     "one page of at most N grants, newest first; prints where the next page starts")
        ->check(CLI::Range(1u, lockbox::MAX_PAGE_LIMIT));
    list->add_option("--cursor", opts.cursor, "start after the page that printed this cursor");
    list->add_flag("--json", ctx.json, "print JSON (with --limit: an object with grants and next_cursor)");
    add_source(list);
    list->callback([&ctx, &exit_code] { exit_code = grant_list(ctx, opts); });

    auto* show = grant->add_subcommand("show", "Show one grant");
    show->add_option("ID", opts.id, "grant id")->required();
    show->add_flag("--json", ctx.json, "print JSON");
    add_source(show);
    show->callback([&ctx, &exit_code] { exit_code = grant_show(ctx, opts); });

    auto* revoke = grant->add_subcommand("revoke", "Revoke a grant: its sessions end at once");
    revoke->add_option("ID", opts.id, "grant id")->required();
    revoke->add_option("--reason", opts.reason, "why")->required();
    revoke->add_flag("--local", opts.local, "revoke on this host only (root; offline hosts)");
    revoke->callback([&ctx, &exit_code] { exit_code = grant_revoke(ctx, opts); });

    auto* release =
        grant->add_subcommand("release", "End your own grant early (\"I'm done\"): its sessions end at once");
    release->add_option("ID", opts.id, "grant id")->required();
    release->callback([&ctx, &exit_code] { exit_code = grant_release(ctx, opts); });

    auto* exp = grant->add_subcommand("export", "Print a grant's token");
    exp->add_option("ID", opts.id, "grant id")->required();
    exp->callback([&ctx, &exit_code] { exit_code = grant_export(ctx, opts); });

    auto* imp = grant->add_subcommand("import", "Hand a token to lockboxd (root; offline hosts)");
    imp->add_option("TOKEN", opts.token, "the token, or - to read it from standard input")->required();
    imp->callback([&ctx, &exit_code] { exit_code = grant_import(ctx, opts); });
}

}  // namespace lockboxctl

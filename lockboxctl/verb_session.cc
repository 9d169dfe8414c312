// lockboxctl session list|kill: the sessions lockboxd tracks on this host (root).
#include <cstdio>

#include "enforcer_client.h"

namespace lockboxctl {

namespace {

int session_list(Context& ctx) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    auto s = call_for_string(bus->get(), ENFORCER, "ListSessions", {}, ctx.timeout_usec, &f);
    if (!s)
        return fail(s.error());
    auto arr = parse_json_reply(*s, "lockboxd");
    if (!arr || !arr->is_array())
        return fail("malformed session list from lockboxd");
    if (ctx.json) {
        std::printf("%s\n", arr->dump(2).c_str());
        return EXIT_OK;
    }
    std::printf("%-32s  %-16s  %-8s  %-10s  %-20s  %-20s\n", "ID", "USER", "PID", "TTY", "OPENED", "EXPIRES");
    for (const auto& x : *arr)
        std::printf("%-32s  %-16s  %-8s  %-10s  %-20s  %-20s\n", json_str(x, "id").c_str(), json_str(x, "user").c_str(),
                    json_str(x, "pid").c_str(), json_str(x, "tty").c_str(), json_str(x, "opened_at").c_str(),
                    json_str(x, "expires").c_str());
    return EXIT_OK;
}

int session_kill(Context& ctx, const std::string& id) {
    if (id.empty() || id.size() > 64)
        return fail("not a session id: " + id);
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    if (!call_method(
            bus->get(), ENFORCER, "KillSession",
            [&id](sd_bus_message* m) { return sd_bus_message_append(m, "s", id.c_str()); }, ctx.timeout_usec, &f))
        return fail(f.message);
    return EXIT_OK;
}

}  // namespace

void register_session_verbs(CLI::App& app, Context& ctx, int& exit_code) {
    static std::string id;
    auto* session = app.add_subcommand("session", "Engineer sessions on this host");
    session->require_subcommand(1);
    auto* list = session->add_subcommand("list", "List open sessions");
    list->add_flag("--json", ctx.json, "print JSON");
    list->callback([&ctx, &exit_code] { exit_code = session_list(ctx); });
    auto* kill = session->add_subcommand("kill", "End a session and its processes");
    kill->add_option("ID", id, "session id")->required();
    kill->callback([&ctx, &exit_code] { exit_code = session_kill(ctx, id); });
}

}  // namespace lockboxctl

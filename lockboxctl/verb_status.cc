// lockboxctl status: is lockboxd up, are keys loaded, how many grants and
// sessions, can it reach the approval service. Counts only: any user may ask.
// `status --check` (root) checks the host's wiring instead (wiring_check.h).
#include <unistd.h>

#include <cstdio>

#include "enforcer_client.h"
#include "wiring_check.h"

namespace lockboxctl {

namespace {

int status(Context& ctx) {
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    auto s = call_for_string(bus->get(), ENFORCER, "Status", {}, ctx.timeout_usec, &f);
    if (!s) {
        if (ctx.json)
            std::printf("%s\n", nlohmann::json{{"daemon", "not-running"}, {"error", f.message}}.dump(2).c_str());
        else
            std::printf("lockboxd:          not running (%s)\n", f.message.c_str());
        return EXIT_FAILED;
    }
    auto j = parse_json_reply(*s, "lockboxd");
    if (!j || !j->is_object())
        return fail("malformed status from lockboxd");
    if (ctx.json) {
        std::printf("%s\n", j->dump(2).c_str());
        return EXIT_OK;
    }
    const auto& g = (*j)["grants"];
    std::printf("lockboxd:          %s\n", json_str(*j, "daemon").c_str());
    std::printf("tenant / host:     %s / %s\n", json_str(*j, "tenant").c_str(), json_str(*j, "host").c_str());
    std::printf("trusted keys:      %s\n", json_str(*j, "trusted_keys").c_str());
    std::printf("grants:            %s active, %s installed, %s revoked, %s completed\n", json_str(g, "active").c_str(),
                json_str(g, "installed").c_str(), json_str(g, "revoked").c_str(), json_str(g, "completed").c_str());
    std::printf("sessions:          %s\n", json_str(*j, "sessions").c_str());
    std::printf("approval service:  %s\n", json_str(*j, "approval_service").c_str());
    if (json_str(*j, "trusted_keys") == "0")
        std::printf("warning:           no trusted key loaded; every grant is refused\n");
    return EXIT_OK;
}

// Root only: it reads sshd's effective configuration (host keys and all) and
// asks every NSS source for the engineer uid range.
int check_wiring(Context& ctx) {
    if (::geteuid() != 0)
        return fail("status --check reads sshd's effective configuration and every NSS source: run it as root");
    lockbox::Config config = lockbox::default_config();
    std::vector<CheckResult> results;
    // Unlike the client verbs, a missing file counts: lockboxd needs [Host] Tenant=.
    auto loaded = lockbox::load_config(ctx.config_path, /*missing_ok=*/false);
    if (loaded) {
        config = *loaded;
        results.push_back({"configuration", Verdict::Pass, ctx.config_path + " loads", ""});
    } else {
        results.push_back(
            {"configuration", Verdict::Fail, loaded.error().message,
             "correct " + ctx.config_path + " (docs/configuration.md); the checks below use the defaults"});
    }
    for (auto& r : run_wiring_checks(WiringPaths{}, config))
        results.push_back(std::move(r));
    return print_wiring_results(results) ? EXIT_OK : EXIT_FAILED;
}

}  // namespace

void register_status_verb(CLI::App& app, Context& ctx, int& exit_code) {
    auto* cmd = app.add_subcommand("status", "Health of lockboxd on this host");
    cmd->add_flag("--json", ctx.json, "print JSON");
    static bool check = false;
    cmd->add_flag("--check", check,
                  "as root: check that enforcement is wired up on this host (PAM, NSS, sshd, units, keys, uid range, "
                  "clock, tlog); exit 1 when it is not")
        ->excludes("--json");
    cmd->callback([&ctx, &exit_code] { exit_code = check ? check_wiring(ctx) : status(ctx); });
}

}  // namespace lockboxctl

// lockboxctl: the one CLI for engineers, managers, customer approvers, auditors
// and host administrators. Verbs live one group per file (verb_*.cc).
#include <cstdio>
#include <exception>

#include "ctl.h"
#include "lockbox_build_config.h"

int main(int argc, char** argv) {
    using namespace lockboxctl;
    Context ctx;
    ctx.config_path = LOCKBOX_CONFIG_PATH;
    int exit_code = EXIT_OK;

    CLI::App app{"Lockbox: customer-approved, time-bounded engineer access to this host"};
    app.name("lockboxctl");
    app.require_subcommand(1);
    app.option_defaults()->always_capture_default();
    app.add_option("--config", ctx.config_path, "configuration file")->capture_default_str();
    app.set_version_flag("--version", LOCKBOX_VERSION);

    register_key_verbs(app, ctx, exit_code);
    register_request_verbs(app, ctx, exit_code);
    register_watch_verb(app, ctx, exit_code);
    register_grant_verbs(app, ctx, exit_code);
    register_session_verbs(app, ctx, exit_code);
    register_authorized_keys_verb(app, ctx, exit_code);
    register_status_verb(app, ctx, exit_code);
    register_audit_verb(app, ctx, exit_code);
    register_fleet_verbs(app, ctx, exit_code);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return EXIT_USAGE;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lockboxctl: %s\n", e.what());
        return EXIT_FAILED;
    }
    return exit_code;
}

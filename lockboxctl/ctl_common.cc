#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "bus_api.h"
#include "ctl.h"
#include "lockbox_build_config.h"

namespace lockboxctl {

lockbox::Result<lockbox::Config> Context::config() const {
    return lockbox::load_config(config_path, /*missing_ok=*/true);
}

lockbox::Result<BusPtr> Context::system_bus() const {
    sd_bus* raw = nullptr;
    int r;
    // sd_bus_open_system honours DBUS_SYSTEM_BUS_ADDRESS itself (through
    // secure_getenv), which is what the tests use to reach a private bus.
    r = sd_bus_open_system(&raw);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Unavailable,
                                   std::string("cannot connect to the system bus: ") + std::strerror(-r));
    BusPtr bus(raw);
    sd_bus_set_method_call_timeout(bus.get(), timeout_usec);
    return bus;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "lockboxctl: %s\n", message.c_str());
    return EXIT_FAILED;
}

int fail(const lockbox::Error& error) { return fail(error.message); }

namespace {

void add_global_options(CLI::App& app, Context& ctx) {
    ctx.config_path = LOCKBOX_CONFIG_PATH;
    app.name("lockboxctl");
    app.require_subcommand(1);
    app.option_defaults()->always_capture_default();
    app.add_option("--config", ctx.config_path, "configuration file")->capture_default_str();
    app.set_version_flag("--version", LOCKBOX_VERSION);
}

int parse_and_run(CLI::App& app, int argc, char** argv, const int& exit_code) {
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

}  // namespace

int run_cli(int argc, char** argv, const char* description, const VerbRegistration& register_verbs) {
    Context ctx;
    int exit_code = EXIT_OK;
    CLI::App app{description};
    add_global_options(app, ctx);
    register_verbs(app, ctx, exit_code);
    return parse_and_run(app, argc, argv, exit_code);
}

std::string describe_bus_error(const sd_bus_error* error, int r, const char* service) {
    if (error && sd_bus_error_is_set(error)) {
        const char* name = error->name;
        if (std::strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
            std::strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
            return std::string(service) + " is not running (is the service started?)";
        if (std::strcmp(name, "org.freedesktop.DBus.Error.NoReply") == 0 ||
            std::strcmp(name, "org.freedesktop.DBus.Error.Timeout") == 0)
            return std::string(service) + " did not answer in time";
        if (error->message && *error->message)
            return error->message;
        return name;
    }
    return std::string("call to ") + service + " failed: " + std::strerror(-r);
}

}  // namespace lockboxctl

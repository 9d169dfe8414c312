// What every lockboxctl verb shares: the parsed global options, the bus
// connection, and the rule that errors go to stderr with exit 1 (refused or
// failed) or 2 (bad usage), results to stdout.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <systemd/sd-bus.h>

#include "config.h"
#include "result.h"
#include "sd_handles.h"

namespace lockboxctl {

enum ExitCode { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

using lockbox::BusPtr;

struct Context {
    std::string config_path;
    bool json = false;
    uint64_t timeout_usec = 25'000'000;  // per bus call

    // Loads the config at config_path (missing file is fine for client verbs).
    lockbox::Result<lockbox::Config> config() const;
    // System bus, or $DBUS_SYSTEM_BUS_ADDRESS (secure_getenv) for tests.
    lockbox::Result<BusPtr> system_bus() const;
};

// main() of lockboxctl and of lockboxctl-fleet: the global options (--config,
// --version), the verbs register_verbs adds, then argv parsed, which runs the
// chosen verb; returns its exit code (or the usage error's).
using VerbRegistration = std::function<void(CLI::App& app, Context& ctx, int& exit_code)>;
int run_cli(int argc, char** argv, const char* description, const VerbRegistration& register_verbs);

// Prints "lockboxctl: <message>" to stderr and returns EXIT_FAILED.
int fail(const std::string& message);
int fail(const lockbox::Error& error);
// Turns a bus error into a sentence a person can act on (names the service
// when it is not running, the role when access was denied).
std::string describe_bus_error(const sd_bus_error* error, int r, const char* service);

// Each verb group registers its subcommands; the callback sets *exit_code.
void register_key_verbs(CLI::App& app, Context& ctx, int& exit_code);
void register_request_verbs(CLI::App& app, Context& ctx, int& exit_code);
void register_watch_verb(CLI::App& app, Context& ctx, int& exit_code);
void register_grant_verbs(CLI::App& app, Context& ctx, int& exit_code);
void register_session_verbs(CLI::App& app, Context& ctx, int& exit_code);
void register_authorized_keys_verb(CLI::App& app, Context& ctx, int& exit_code);
void register_status_verb(CLI::App& app, Context& ctx, int& exit_code);
void register_audit_verb(CLI::App& app, Context& ctx, int& exit_code);

}  // namespace lockboxctl

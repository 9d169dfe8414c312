// lockboxctl: the one CLI for engineers, managers, customer approvers, auditors
// and host administrators. Verbs live one group per file (verb_*.cc).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ctl.h"
#include "fleet_verbs.h"
#include "lockbox_build_config.h"

namespace {

// The fleet verbs run in lockboxctl-fleet with this very command line
// (fleet_verbs.h); it returns only when that cannot be started. Tests run the
// build tree's copy through $LOCKBOX_LIBEXEC_DIR, as they reach a private bus
// through $DBUS_SYSTEM_BUS_ADDRESS: lockboxctl is no setuid program, so it
// runs only what its caller could run anyway.
int exec_fleet_helper(char** argv) {
    const char* dir = ::secure_getenv("LOCKBOX_LIBEXEC_DIR");
    const std::string helper = std::string(dir && *dir ? dir : LOCKBOX_LIBEXEC_DIR) + "/lockboxctl-fleet";
    ::execv(helper.c_str(), argv);
    return lockboxctl::fail("cannot run " + helper + ", which runs the fleet verbs: " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace lockboxctl;
    return run_cli(argc, argv, "Lockbox: customer-approved, time-bounded engineer access to this host",
                   [argv](CLI::App& app, Context& ctx, int& exit_code) {
                       register_key_verbs(app, ctx, exit_code);
                       register_request_verbs(app, ctx, exit_code);
                       register_watch_verb(app, ctx, exit_code);
                       register_grant_verbs(app, ctx, exit_code);
                       register_session_verbs(app, ctx, exit_code);
                       register_authorized_keys_verb(app, ctx, exit_code);
                       register_status_verb(app, ctx, exit_code);
                       register_audit_verb(app, ctx, exit_code);
                       register_fleet_verbs(app, ctx, exit_code,
                                            [argv](FleetVerb, const FleetArgs&) { return exec_fleet_helper(argv); });
                   });
}

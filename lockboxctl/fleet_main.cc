// lockboxctl-fleet: lockboxctl's fleet verbs, run with lockboxctl's own command
// line (fleet_verbs.h): the same global options, the fleet verbs only.
#include "ctl.h"
#include "fleet_verbs.h"

int main(int argc, char** argv) {
    using namespace lockboxctl;
    Context ctx;
    int exit_code = EXIT_OK;

    CLI::App app{"Lockbox: the fleet verbs of lockboxctl (run them as lockboxctl fleet ...)"};
    add_global_options(app, ctx);
    register_fleet_verbs(app, ctx, exit_code, [&ctx](FleetVerb verb, const FleetArgs& args) {
        return verb == FleetVerb::Bootstrap ? run_fleet_bootstrap(ctx, args) : run_fleet_status(ctx, args);
    });
    return parse_and_run(app, argc, argv, exit_code);
}

// lockboxctl-fleet: lockboxctl's fleet verbs, run with lockboxctl's own command
// line (fleet_verbs.h): the same global options, the fleet verbs only.
#include "ctl.h"
#include "fleet_verbs.h"

int main(int argc, char** argv) {
    using namespace lockboxctl;
    return run_cli(argc, argv, "Lockbox: the fleet verbs of lockboxctl (run them as lockboxctl fleet ...)",
                   [](CLI::App& app, Context& ctx, int& exit_code) {
                       register_fleet_verbs(app, ctx, exit_code, [&ctx](FleetVerb verb, const FleetArgs& args) {
                           return verb == FleetVerb::Bootstrap ? run_fleet_bootstrap(ctx, args)
                                                               : run_fleet_status(ctx, args);
                       });
                   });
}

// lockboxctl fleet bootstrap | fleet status: the verbs and their options
// (docs/fleet.md). lockboxctl hands them to lockboxctl-fleet, which alone
// links etcd's gRPC client (fleet_verbs.h).
#include <memory>

#include "ctl.h"
#include "fleet_verbs.h"

namespace lockboxctl {

void register_fleet_verbs(CLI::App& app, Context& ctx, int& exit_code, const FleetRunner& run) {
    auto args = std::make_shared<FleetArgs>();
    auto* fleet = app.add_subcommand("fleet", "Set up and inspect the fleet's etcd cluster (docs/fleet.md)");
    fleet->require_subcommand(1);
    auto identity = [args](CLI::App* cmd) {
        cmd->add_option("--endpoints", args->endpoints, "comma-separated https:// URLs of the etcd members");
        cmd->add_option("--cacert", args->cacert, "the tenant's CA certificate");
        cmd->add_option("--cert", args->cert, "client certificate (its CN is the etcd user)");
        cmd->add_option("--key", args->key, "client key (owned by you, mode 0600)");
    };
    auto* bootstrap = fleet->add_subcommand(
        "bootstrap",
        "With etcd's root identity: create the tenant's prefix, roles and users, enable auth (idempotent)");
    identity(bootstrap);
    bootstrap->add_option("--tenant", args->tenant, "tenant name (default: [Host] Tenant=)");
    bootstrap->add_option("--signer", args->signers, "certificate CN of a signer (repeatable)");
    bootstrap->add_option("--workflow", args->workflows, "certificate CN of a workflow instance (repeatable)");
    bootstrap->add_option("--host", args->hosts, "certificate CN of a tenant host (repeatable)");
    bootstrap->callback([args, &exit_code, run] { exit_code = run(FleetVerb::Bootstrap, *args); });

    auto* status = fleet->add_subcommand("status", "Cluster members, this host's mode, each endpoint's revision");
    identity(status);
    status->add_flag("--json", ctx.json, "print JSON");
    status->callback([args, &exit_code, run] { exit_code = run(FleetVerb::Status, *args); });
}

}  // namespace lockboxctl

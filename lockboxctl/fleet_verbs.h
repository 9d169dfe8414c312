// The fleet verbs (docs/fleet.md). They are the only ones that talk to etcd,
// and gRPC, protobuf and abseil take about 20 ms to load: lockboxctl parses
// them and hands the whole command line to lockboxctl-fleet (fleet_main.cc),
// which alone links etcd's client, so every other verb starts without it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ctl.h"

namespace lockboxctl {

struct FleetArgs {
    std::string endpoints;
    std::string cacert, cert, key;
    std::string tenant;
    std::vector<std::string> signers, workflows, hosts;
};

enum class FleetVerb { Bootstrap, Status };
using FleetRunner = std::function<int(FleetVerb, const FleetArgs&)>;

// The options of `fleet bootstrap` and `fleet status`; run does the verb.
void register_fleet_verbs(CLI::App& app, Context& ctx, int& exit_code, const FleetRunner& run);

// In lockboxctl-fleet (fleet_etcd.cc).
int run_fleet_bootstrap(const Context& ctx, const FleetArgs& a);
int run_fleet_status(const Context& ctx, const FleetArgs& a);

}  // namespace lockboxctl

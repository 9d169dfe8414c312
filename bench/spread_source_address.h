// The fleet simulator's connections come from many addresses, as a fleet's
// do: every TCP connection this process makes to a loopback address is bound
// first to a source address of its own in 127.0.0.0/8 (127.1.0.1, 127.1.0.2,
// …). grpc++'s public API has no bind-before-connect, so this interposes
// connect() in bench_fleet_followers, as cwrap's socket_wrapper does: gRPC
// calls connect() through its PLT, and the executable's definition comes
// first. Off until spread_source_addresses() is called.
#pragma once

#include <cstddef>

namespace lockbox::bench {

void spread_source_addresses();
// How many connections were bound to a source address of their own, and how
// many binds failed (those connect from 127.0.0.1).
size_t source_addresses_bound();
size_t source_address_failures();

}  // namespace lockbox::bench

// Placeholder until this verb group is built; registers nothing.
#include "ctl.h"

namespace lockboxctl {

void register_key_verbs(CLI::App& /*app*/, Context& /*ctx*/, int& /*exit_code*/) {}

}  // namespace lockboxctl

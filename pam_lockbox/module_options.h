// The arguments on a pam_lockbox line in /etc/pam.d. Parsed strictly, as
// Linux-PAM's own modules do: a value that does not parse makes the module refuse
// (PAM_SERVICE_ERR) instead of guessing, while an unknown word is only reported
// so that a newer stack file does not lock everyone out of an older module.
#pragma once

#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockbox::pam {

constexpr usec_t DEFAULT_TIMEOUT = 2 * USEC_PER_SEC;
constexpr long MIN_TIMEOUT_SEC = 1;
constexpr long MAX_TIMEOUT_SEC = 30;
constexpr size_t MAX_OPTION_VALUE = 4096;

struct ModuleOptions {
    bool debug = false;
    usec_t timeout = DEFAULT_TIMEOUT;  // whole budget of one bus exchange
    std::string config_path;           // empty: LOCKBOX_CONFIG, then the built-in path
    std::string gate_group;            // local group whose members are gated too
    std::vector<std::string> unknown;  // words we ignored, for the caller to log
};

// Error codes: "bad-option" with a message naming the option and what is expected.
Result<ModuleOptions> parse_module_options(int argc, const char** argv);

// config= wins (the stack file is the administrator's word); otherwise
// LOCKBOX_CONFIG through secure_getenv (ignored in setuid programs such as su,
// whose caller owns the environment); otherwise the built-in path.
std::string resolve_config_path(const ModuleOptions& options);

}  // namespace lockbox::pam

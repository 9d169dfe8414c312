// Who pam_lockbox gates. Everyone else is none of its business: it answers
// PAM_IGNORE for them even when lockboxd or the bus is down, so customer admins
// and break-glass accounts never depend on Lockbox.
#pragma once

#include <string>

#include "config.h"
#include "result.h"

namespace lockbox::pam {

enum class Membership {
    unmanaged,      // not ours: PAM_IGNORE
    lockbox_range,  // uid inside [Accounts] UIDMin..UIDMax (an nss_lockbox account)
    gate_group,     // a local account in the configured gate_group
};

// Resolves the user through NSS. A name that does not resolve is unmanaged: an
// engineer account only resolves while its grant is installed, and without an
// account the login fails before or after us anyway. Errors ("nss") mean the
// lookup itself failed (e.g. ERANGE loops); the caller fails closed only if the
// user could be ours.
Result<Membership> classify_user(const std::string& user, const Config& config, const std::string& gate_group);

const char* membership_name(Membership m);

}  // namespace lockbox::pam

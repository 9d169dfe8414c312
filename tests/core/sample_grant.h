// A valid grant the claims and verifier tests start from and then break one
// claim at a time.
#pragma once

#include <string>

#include "grant_claims.h"

namespace core_test {

inline constexpr const char* SSH_KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOQKkv+/BXTyW+VFVdbkhKDnbi0e3Lcm/yMDtNfpjDMn eng@example";

// 2026-11-29T20:00:00Z
inline constexpr lockbox::usec_t T0 = 1795982400LL * lockbox::USEC_PER_SEC;
inline constexpr lockbox::usec_t HOUR = 3600LL * lockbox::USEC_PER_SEC;

inline lockbox::GrantClaims sample_claims() {
    lockbox::GrantClaims c;
    c.iss = "approval.example.com";
    c.sub = "alice";
    c.aud = "contoso";
    c.jti = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c.iat = T0;
    c.nbf = T0;
    c.exp = T0 + 2 * HOUR;
    c.hosts = {"db01", "db02.contoso.example"};
    c.ticket = "INC-12345";
    c.reason = "Replication lag on db01 – investigate";
    c.ssh_keys = {SSH_KEY};
    c.approved_by = {{"manager", "mgr", T0 - 600 * lockbox::USEC_PER_SEC},
                     {"approver", "carol", T0 - 60 * lockbox::USEC_PER_SEC}};
    return c;
}

}  // namespace core_test

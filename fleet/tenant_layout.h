// Where a tenant's data lives in etcd, and who may touch which part of it
// (docs/fleet.md, "Keys and roles"). Every fleet component derives its keys
// here, so the layout and the access rules that lockboxctl fleet bootstrap
// grants cannot drift apart.
#pragma once

#include <string>
#include <vector>

#include "etcd_client.h"

namespace lockbox::fleet {

struct TenantLayout {
    explicit TenantLayout(std::string tenant);

    std::string tenant;
    std::string root;         // /lockbox/<tenant>/
    std::string requests;     // requests/<id>: the workflow's state (JSON)
    std::string outbox;       // outbox/<seq>: audit records of transitions
    std::string issued;       // issued/: everything a host reads, one watch
    std::string grants;       // issued/grants/<jti>: the signed grant token
    std::string revocations;  // issued/revocations/<jti>: the signed revocation
    std::string signer_lock;  // signer/active: the active signer's lease

    std::string grant_key(const std::string& jti) const { return grants + jti; }
    std::string revocation_key(const std::string& jti) const { return revocations + jti; }
    std::string request_key(const std::string& id) const { return requests + id; }

    // etcd role names of the three fleet modes.
    std::string signer_role() const { return "lockbox-" + tenant + "-signer"; }
    std::string workflow_role() const { return "lockbox-" + tenant + "-workflow"; }
    std::string host_role() const { return "lockbox-" + tenant + "-host"; }
};

struct PrefixGrant {
    std::string role;
    std::string prefix;
    Permission permission;
};

// The permissions of the three roles: the signer writes the tenant's whole
// prefix, the workflow writes requests and outbox and reads what was issued
// and who signs (fleet status), a host only reads what was issued.
std::vector<PrefixGrant> role_permissions(const TenantLayout& layout);

}  // namespace lockbox::fleet

#include "tenant_layout.h"

namespace lockbox::fleet {

TenantLayout::TenantLayout(std::string t)
    : tenant(std::move(t)),
      root("/lockbox/" + tenant + "/"),
      requests(root + "requests/"),
      outbox(root + "outbox/"),
      issued(root + "issued/"),
      grants(issued + "grants/"),
      revocations(issued + "revocations/"),
      signer_lock(root + "signer/active") {}

std::vector<PrefixGrant> role_permissions(const TenantLayout& l) {
    return {
        {l.signer_role(), l.root, Permission::ReadWrite},
        {l.workflow_role(), l.requests, Permission::ReadWrite},
        {l.workflow_role(), l.outbox, Permission::ReadWrite},
        {l.workflow_role(), l.issued, Permission::Read},
        {l.workflow_role(), l.root + "signer/", Permission::Read},
        {l.host_role(), l.issued, Permission::Read},
    };
}

}  // namespace lockbox::fleet

// lockboxctl fleet bootstrap | fleet status, as lockboxctl-fleet runs them:
// the etcd side of a fleet (docs/fleet.md). Bootstrap runs once per tenant
// with etcd's root identity and may be run again (every step is idempotent);
// status shows the cluster as this host's [Fleet] identity sees it.
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ctl.h"
#include "etcd_client.h"
#include "fleet_verbs.h"
#include "names.h"
#include "printable_text.h"
#include "tenant_layout.h"

namespace lockboxctl {
namespace {

using lockbox::fleet::EtcdClient;

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos)
            end = s.size();
        if (end > start)
            out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// Options win over [Fleet]; bootstrap passes the root identity as options.
lockbox::Result<lockbox::FleetConfig> fleet_identity(const Context& ctx, const FleetArgs& a) {
    lockbox::FleetConfig f;
    if (auto cfg = ctx.config())
        f = cfg->fleet;
    if (!a.endpoints.empty())
        f.endpoints = split_commas(a.endpoints);
    if (!a.cacert.empty())
        f.ca_file = a.cacert;
    if (!a.cert.empty())
        f.cert_file = a.cert;
    if (!a.key.empty())
        f.key_file = a.key;
    if (f.endpoints.empty() || f.ca_file.empty() || f.cert_file.empty() || f.key_file.empty())
        return lockbox::make_error(
            lockbox::Errc::InvalidArgument,
            "give --endpoints, --cacert, --cert and --key, or a [Fleet] section in " + ctx.config_path);
    for (const auto& e : f.endpoints)
        if (!e.starts_with("https://"))
            return lockbox::make_error(lockbox::Errc::InvalidArgument,
                                       "endpoint " + e + ": only https:// endpoints are allowed (docs/fleet.md)");
    return f;
}

const char* permission_name(lockbox::fleet::Permission p) {
    switch (p) {
    case lockbox::fleet::Permission::Read:
        return "read";
    case lockbox::fleet::Permission::Write:
        return "write";
    case lockbox::fleet::Permission::ReadWrite:
        return "readwrite";
    }
    return "?";
}

lockbox::Status add_identity(EtcdClient& etcd, const std::string& user, const std::string& role) {
    if (!lockbox::is_valid_host_name(user))
        return lockbox::make_error(lockbox::Errc::InvalidArgument,
                                   "\"" + user +
                                       "\" is not a host name (RFC 1123, lowercase); certificates' CN "
                                       "must be the name of the host or service");
    if (auto s = etcd.user_add(user); !s)
        return s;
    if (auto s = etcd.user_grant_role(user, role); !s)
        return s;
    std::printf("user %s: role %s\n", user.c_str(), role.c_str());
    return {};
}

}  // namespace

int run_fleet_bootstrap(const Context& ctx, const FleetArgs& a) {
    auto f = fleet_identity(ctx, a);
    if (!f)
        return fail(f.error());
    std::string tenant = a.tenant;
    if (tenant.empty())
        if (auto cfg = ctx.config())
            tenant = cfg->tenant;
    if (!lockbox::is_valid_tenant_name(tenant))
        return fail("give --tenant (or [Host] Tenant= in " + ctx.config_path +
                    "): a tenant name ([a-z0-9][a-z0-9._-]*)");
    auto etcd = EtcdClient::open(*f);
    if (!etcd)
        return fail(etcd.error());
    EtcdClient& e = **etcd;
    lockbox::fleet::TenantLayout layout(tenant);

    // etcd refuses to enable auth unless user root has role root.
    for (auto s : {e.role_add("root"), e.user_add("root"), e.user_grant_role("root", "root")})
        if (!s)
            return fail(s.error());
    for (const auto& role : {layout.signer_role(), layout.workflow_role(), layout.host_role()})
        if (auto s = e.role_add(role); !s)
            return fail(s.error());
    for (const auto& g : lockbox::fleet::role_permissions(layout)) {
        if (auto s = e.role_grant_prefix(g.role, g.prefix, g.permission); !s)
            return fail(s.error());
        std::printf("role %s: %s %s\n", g.role.c_str(), permission_name(g.permission), g.prefix.c_str());
    }
    for (const auto& [names, role] :
         {std::pair{&a.signers, layout.signer_role()}, std::pair{&a.workflows, layout.workflow_role()},
          std::pair{&a.hosts, layout.host_role()}})
        for (const auto& name : *names)
            if (auto s = add_identity(e, name, role); !s)
                return fail(s.error());
    if (auto s = e.auth_enable(); !s)
        return fail(s.error());
    // The tenant's marker: written once, so a re-run shows when it began.
    nlohmann::json marker{{"tenant", tenant}, {"layout", 1}};
    auto t = e.txn({{lockbox::fleet::Compare::Target::ModRevision, layout.root + "tenant", 0, ""}},
                   {{lockbox::fleet::Op::Kind::Put, layout.root + "tenant", marker.dump(), 0}});
    if (!t)
        return fail(t.error());
    std::printf("tenant %s: %s under %s, auth enabled\n", tenant.c_str(), t->succeeded ? "created" : "already present",
                layout.root.c_str());
    return EXIT_OK;
}

int run_fleet_status(const Context& ctx, const FleetArgs& a) {
    auto cfg = ctx.config();
    auto f = fleet_identity(ctx, a);
    if (!f)
        return fail(f.error());
    auto etcd = EtcdClient::open(*f, std::chrono::seconds(5), /*root_reads_any_owner=*/true);
    if (!etcd)
        return fail(etcd.error());
    auto members = (*etcd)->members();
    auto each = (*etcd)->status_of_each();
    nlohmann::json out{{"mode", cfg ? lockbox::fleet_mode_name(cfg->fleet.mode) : "unknown"}};
    out["members"] = nlohmann::json::array();
    if (members)
        for (const auto& m : *members)
            out["members"].push_back({{"id", m.id}, {"name", m.name}, {"client_urls", m.client_urls}});
    out["endpoints"] = nlohmann::json::array();
    bool any_up = false;
    for (const auto& s : each) {
        nlohmann::json j{{"endpoint", s.endpoint}};
        if (!s.error.empty()) {
            j["error"] = s.error;
        } else {
            any_up = true;
            j.update({{"member_id", s.member_id},
                      {"leader", s.member_id == s.leader},
                      {"revision", s.revision},
                      {"raft_term", s.raft_term},
                      {"db_size", s.db_size},
                      {"version", s.version}});
        }
        out["endpoints"].push_back(j);
    }
    // A host's mirror (docs/fleet.md): its revision, and what etcd has under
    // issued/ that the mirror has not (0 = up to date). Readable by root.
    std::optional<int64_t> mirror_revision, behind;
    if (cfg && cfg->fleet.mode == lockbox::FleetMode::Host) {
        std::ifstream in(cfg->approval_dir() + "/fleet-mirror.json");
        auto mirror = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (mirror.is_object() && mirror.contains("revision") && mirror["revision"].is_number_integer()) {
            mirror_revision = mirror["revision"].get<int64_t>();
            lockbox::fleet::TenantLayout layout(cfg->tenant);
            if (auto n = (*etcd)->count_newer(layout.issued, *mirror_revision))
                behind = *n;
        }
        out["mirror"] = {{"revision", mirror_revision ? nlohmann::json(*mirror_revision) : nlohmann::json()},
                         {"behind", behind ? nlohmann::json(*behind) : nlohmann::json()}};
    }
    // The shared workflow (signer and workflow instances): who signs, and how
    // many approved requests wait for a signature (0 unless the signer is down).
    std::optional<std::string> active_signer;
    std::optional<size_t> unsigned_count;
    if (cfg && (cfg->fleet.mode == lockbox::FleetMode::Signer || cfg->fleet.mode == lockbox::FleetMode::Workflow)) {
        lockbox::fleet::TenantLayout layout(cfg->tenant);
        if (auto lock = (*etcd)->get(layout.signer_lock))
            active_signer = lock->kvs.empty() ? "" : lock->kvs[0].value;
        if (auto requests = (*etcd)->get_prefix(layout.requests)) {
            size_t n = 0;
            for (const auto& kv : requests->kvs) {
                auto r = nlohmann::json::parse(kv.value, nullptr, false);
                n += r.is_object() && r.value("state", "") == "approved" && r.value("token", "x").empty();
            }
            unsigned_count = n;
        }
        out["signer"] = {{"active", active_signer ? nlohmann::json(*active_signer) : nlohmann::json()},
                         {"awaiting_signature", unsigned_count ? nlohmann::json(*unsigned_count) : nlohmann::json()}};
    }
    if (ctx.json) {
        std::printf("%s\n", out.dump(2).c_str());
        return any_up ? EXIT_OK : EXIT_FAILED;
    }
    std::printf("mode:      %s\n", out["mode"].get<std::string>().c_str());
    if (out.contains("mirror")) {
        if (!mirror_revision)
            std::printf("mirror:    none yet (lockbox-approvald has not followed etcd, or run this as root)\n");
        else if (!behind)
            std::printf("mirror:    revision %lld, lag unknown (etcd did not answer)\n",
                        static_cast<long long>(*mirror_revision));
        else
            std::printf("mirror:    revision %lld, %lld issued change%s behind\n",
                        static_cast<long long>(*mirror_revision), static_cast<long long>(*behind),
                        *behind == 1 ? "" : "s");
    }
    if (out.contains("signer")) {
        if (!active_signer)
            std::printf("signer:    unknown (etcd did not answer)\n");
        else if (active_signer->empty())
            std::printf("signer:    NONE active: approved requests are not signed until one campaigns\n");
        else
            std::printf("signer:    %s active\n", lockbox::printable(*active_signer, 128).c_str());
        if (unsigned_count)
            std::printf("unsigned:  %zu approved request%s awaiting the signer\n", *unsigned_count,
                        *unsigned_count == 1 ? "" : "s");
    }
    if (!members)
        std::printf("members:   unknown (%s)\n", members.error().message.c_str());
    else
        for (const auto& m : *members)
            std::printf("member:    %s %016llx %s\n", m.name.c_str(), static_cast<unsigned long long>(m.id),
                        m.client_urls.empty() ? "(no client URL)" : m.client_urls.front().c_str());
    for (const auto& s : each) {
        if (!s.error.empty())
            std::printf("endpoint:  %s unreachable (%s)\n", s.endpoint.c_str(), s.error.c_str());
        else
            std::printf("endpoint:  %s revision %lld%s, etcd %s\n", s.endpoint.c_str(),
                        static_cast<long long>(s.revision), s.member_id == s.leader ? ", leader" : "",
                        s.version.c_str());
    }
    return any_up ? EXIT_OK : fail("no etcd endpoint answered");
}

}  // namespace lockboxctl

// Host mode (docs/fleet.md): lockbox-approvald on a tenant host follows what the
// signer issued, keeps a mirror on disk so that lockboxd's GetHostGrants is
// answered with etcd down (and after a restart with etcd down), and emits
// GrantIssued/GrantRevoked exactly as a single host's approval service does.
// lockboxd is unchanged: it asks GetHostGrants and verifies every token itself.
//
// What reaches the mirror is verified here first: a grant must be signed by a
// trusted key and name this host or one of its groups; a revocation must be a
// signed revocation token (revocation_token.h). A store that was tampered with
// can withhold news (the grant's own exp still ends access) but never fake it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <systemd/sd-event.h>

#include "clock.h"
#include "config.h"
#include "grant_verifier.h"
#include "issued_follower.h"
#include "sd_handles.h"
#include "tenant_layout.h"

namespace lockbox::approval {

// A grant ended before its exp: how ("revoked" or "released") and by whom.
struct EndedGrant {
    std::string id;
    std::string how;
    std::string by;
};

// GetHostGrants's answer, from the store (one host) or the mirror (a fleet).
struct HostGrants {
    std::vector<std::pair<std::string, std::string>> grants;  // (id, token)
    std::vector<EndedGrant> ended;
};

class FleetHost {
public:
    using Emit = std::function<void(const char* signal, const std::string& id)>;

    FleetHost(const Config& config, const Clock& clock, sd_event* event, Emit emit);
    ~FleetHost();

    // Loads trusted keys and the mirror file, then starts following etcd.
    Status start();

    HostGrants host_grants(const std::string& tenant, const std::string& host) const;

    // For lockboxctl fleet status (written into the mirror file too).
    int64_t revision() const { return revision_; }

private:
    struct MirroredGrant {
        std::string token;
        usec_t exp = 0;
    };
    struct MirroredRevocation {
        std::string token;
        usec_t exp = 0;
        std::string how;
        std::string by;
    };

    void on_change(const fleet::IssuedChange& change);
    // Each returns whether the mirror changed (a signal is due).
    bool take_grant(const std::string& jti, const std::string& token);
    bool take_revocation(const std::string& jti, const std::string& token);
    void forget(const std::string& key);
    void drop_expired();
    void reload_keys();
    Status load_mirror();
    // The mirror file is written after the signals went out, once the loop has
    // nothing else pending (coalescing a burst of changes into one write):
    // lockboxd hears of a grant or revocation without waiting for an fsync.
    // GetHostGrants answers from memory; the file serves a restart, and a
    // restart lists etcd again anyway.
    void save_soon();
    void save_mirror();
    static int on_save(sd_event_source* s, void* userdata);
    std::string mirror_path() const;

    const Config& config_;
    const Clock& clock_;
    sd_event* event_;
    Emit emit_;
    fleet::TenantLayout layout_;
    std::unique_ptr<GrantVerifier> verifier_;
    TrustedKeys keys_;
    std::map<std::string, MirroredGrant> grants_;
    std::map<std::string, MirroredRevocation> revocations_;
    int64_t revision_ = 0;
    bool connected_ = false;
    std::unique_ptr<fleet::IssuedFollower> follower_;
    EventSourcePtr save_source_;
    bool save_pending_ = false;
};

}  // namespace lockbox::approval

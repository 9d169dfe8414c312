// Signer mode (docs/fleet.md): lockbox-approvald, the one place that holds the
// tenant's signing key, publishes every grant it signs and a signed revocation
// for every grant it revokes to etcd, where each host's follower picks them up.
// Puts run in order on a worker thread (gRPC calls block), retried with backoff
// until etcd takes them: an outage delays publication, never loses it. On start
// everything still live in the store is published again (puts are idempotent),
// so a crash between commit and publication loses nothing either.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "clock.h"
#include "config.h"
#include "etcd_client.h"
#include "tenant_layout.h"

namespace lockbox::approval {

class FleetPublisher {
public:
    FleetPublisher(const Config& config, const Clock& clock);
    ~FleetPublisher();  // publishes nothing more; what is queued is published again at the next start

    Status start();
    void publish_grant(const std::string& jti, const std::string& token);
    // Signs the revocation of jti (whose grant ends at exp) and queues it; how
    // is "revoked" or "released", by who ended it.
    Status publish_revocation(const std::string& jti, usec_t exp, const std::string& how, const std::string& by);

    size_t queued() const;

private:
    void run();
    void enqueue(std::string key, std::string value);

    const Config& config_;
    const Clock& clock_;
    fleet::TenantLayout layout_;
    std::unique_ptr<fleet::EtcdClient> client_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, std::string>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace lockbox::approval

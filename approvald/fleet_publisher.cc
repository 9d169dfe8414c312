#include "fleet_publisher.h"

#include <algorithm>
#include <chrono>

#include "daemon_log.h"
#include "key_file.h"
#include "revocation_token.h"

namespace lockbox::approval {

FleetPublisher::FleetPublisher(const Config& config, const Clock& clock)
    : config_(config), clock_(clock), layout_(config.tenant) {}

FleetPublisher::~FleetPublisher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

Status FleetPublisher::start() {
    // A put that a member cannot commit within a second (its leader just died,
    // so the proposal waits for an election it may never see) is sent again to
    // the next member: puts are idempotent, and a revocation must not wait out
    // etcd's own five-second request timeout.
    auto client = fleet::EtcdClient::open(config_.fleet, std::chrono::seconds(1));
    if (!client)
        return client.error();
    client_ = std::move(*client);
    thread_ = std::thread([this] { run(); });
    return {};
}

void FleetPublisher::enqueue(std::string key, std::string value) {
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(std::move(key), std::move(value));
    }
    cv_.notify_all();
}

void FleetPublisher::publish_grant(const std::string& jti, const std::string& token) {
    enqueue(layout_.grant_key(jti), token);
}

Status FleetPublisher::publish_revocation(const std::string& jti, usec_t exp, const std::string& how,
                                          const std::string& by) {
    // Loaded per signing and wiped on return, as the grant issuer does.
    auto key = load_secret_key_file(config_.signing_key, expected_key_owner(config_));
    if (!key)
        return key.error();
    enqueue(layout_.revocation_key(jti),
            sign_revocation(*key, RevocationClaims{config_.tenant, jti, how, by, clock_.now(), exp}));
    return {};
}

size_t FleetPublisher::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void FleetPublisher::run() {
    auto delay = std::chrono::milliseconds(100);
    bool failing = false;
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_)
            return;
        auto [key, value] = queue_.front();
        lock.unlock();
        auto put = client_->put(key, value);
        lock.lock();
        if (put) {
            if (failing)
                log_info("fleet: etcd takes publications again ({} queued)", queue_.size());
            failing = false;
            delay = std::chrono::milliseconds(100);
            if (!queue_.empty() && queue_.front().first == key)
                queue_.pop_front();
            continue;
        }
        if (!failing)
            log_warning("fleet: cannot publish {}: {}; retrying", key, put.error().message);
        failing = true;
        client_->next_endpoint();
        cv_.wait_for(lock, delay, [this] { return stopping_; });
        delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::seconds(5));
    }
}

}  // namespace lockbox::approval

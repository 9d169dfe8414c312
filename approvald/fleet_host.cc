#include "fleet_host.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "daemon_log.h"
#include "libc_handles.h"
#include "names.h"
#include "printable_text.h"
#include "revocation_token.h"

namespace lockbox::approval {
namespace {

using json = nlohmann::json;

// The mirror holds tokens only: a few KiB each, bounded by what one tenant has
// live at once.
constexpr size_t MAX_MIRROR_FILE = 64 * 1024 * 1024;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

FleetHost::FleetHost(const Config& config, const Clock& clock, sd_event* event, Emit emit)
    : config_(config), clock_(clock), event_(event), emit_(std::move(emit)), layout_(config.tenant) {}

FleetHost::~FleetHost() {
    follower_.reset();  // no more changes
    if (save_pending_)
        save_mirror();
}

std::string FleetHost::mirror_path() const { return config_.approval_dir() + "/fleet-mirror.json"; }

void FleetHost::reload_keys() {
    // Trusted keys belong to root wherever they are read (lockboxd's rule too).
    auto keys = load_trusted_keys(config_.trusted_dir, config_.key_owner.value_or(0));
    if (!keys) {
        log_warning("fleet: cannot load trusted keys: {}", keys.error().message);
        keys_ = TrustedKeys{};
    } else {
        keys_ = std::move(*keys);
    }
    verifier_ = std::make_unique<GrantVerifier>(
        keys_,
        VerifierPolicy{config_.tenant, config_.host_name, config_.max_grant, config_.clock_skew, config_.host_groups},
        clock_);
}

Status FleetHost::start() {
    reload_keys();
    if (auto s = load_mirror(); !s)
        log_warning("fleet: {}; starting with an empty mirror", s.error().message);
    drop_expired();
    auto client = fleet::EtcdClient::open(config_.fleet);
    if (!client)
        return client.error();
    follower_ = std::make_unique<fleet::IssuedFollower>(std::move(*client), layout_.issued, event_,
                                                        [this](const fleet::IssuedChange& c) { on_change(c); });
    return follower_->start();
}

bool FleetHost::take_grant(const std::string& jti, const std::string& token) {
    auto existing = grants_.find(jti);
    if (existing != grants_.end() && existing->second.token == token)
        return false;
    auto check = verifier_->verify_ignoring_time(token);
    if (check.verdict == GrantVerdict::UnknownKey) {
        reload_keys();  // a key added to trusted.d since we loaded them
        check = verifier_->verify_ignoring_time(token);
    }
    if (check.verdict == GrantVerdict::WrongHost)
        return false;  // another host's grant: not ours to mirror
    if (check.verdict != GrantVerdict::Allow || check.claims.jti != jti) {
        log_warning("fleet: grant {} refused: {}", printable(jti, 64),
                    check.verdict != GrantVerdict::Allow ? check.detail : "its key does not match its jti");
        return false;
    }
    if (check.claims.exp <= clock_.now())
        return false;
    grants_[jti] = MirroredGrant{token, check.claims.exp};
    return true;
}

bool FleetHost::take_revocation(const std::string& jti, const std::string& token) {
    if (revocations_.count(jti))
        return false;
    auto claims = verify_revocation(keys_, token, config_.tenant);
    if (!claims && claims.error().code == Errc::BadSignature) {
        reload_keys();
        claims = verify_revocation(keys_, token, config_.tenant);
    }
    if (!claims || claims->jti != jti) {
        log_warning("fleet: revocation of {} refused: {}", printable(jti, 64),
                    claims ? "its key does not match its jti" : claims.error().message);
        return false;
    }
    revocations_[jti] = MirroredRevocation{token, claims->exp + config_.clock_skew, claims->how, claims->by};
    return true;
}

void FleetHost::forget(const std::string& key) {
    if (starts_with(key, layout_.grants))
        grants_.erase(key.substr(layout_.grants.size()));
    else if (starts_with(key, layout_.revocations))
        revocations_.erase(key.substr(layout_.revocations.size()));
}

void FleetHost::on_change(const fleet::IssuedChange& change) {
    using Kind = fleet::IssuedChange::Kind;
    if (change.kind == Kind::Lost) {
        if (connected_ || revision_ == 0)
            log_warning("fleet: etcd not reachable ({}); serving the mirror of revision {}", change.error, revision_);
        connected_ = false;
        return;
    }
    if (!connected_)
        log_info("fleet: following {} from revision {}", layout_.issued, change.revision);
    connected_ = true;
    std::vector<std::pair<const char*, std::string>> signals;
    auto take = [&](const fleet::KeyValue& kv) {
        if (starts_with(kv.key, layout_.grants)) {
            std::string jti = kv.key.substr(layout_.grants.size());
            if (take_grant(jti, kv.value))
                signals.emplace_back("GrantIssued", jti);
        } else if (starts_with(kv.key, layout_.revocations)) {
            std::string jti = kv.key.substr(layout_.revocations.size());
            if (take_revocation(jti, kv.value))
                signals.emplace_back("GrantRevoked", jti);
        }
    };
    if (change.kind == Kind::Snapshot) {
        // What etcd no longer has (pruned after its end) leaves the mirror.
        std::map<std::string, bool> present;
        for (const auto& kv : change.kvs)
            present[kv.key] = true;
        for (auto it = grants_.begin(); it != grants_.end();)
            it = present.count(layout_.grant_key(it->first)) ? std::next(it) : grants_.erase(it);
        for (auto it = revocations_.begin(); it != revocations_.end();)
            it = present.count(layout_.revocation_key(it->first)) ? std::next(it) : revocations_.erase(it);
        for (const auto& kv : change.kvs)
            take(kv);
    } else if (change.kind == Kind::Put) {
        take(change.kvs.front());
    } else if (change.kind == Kind::Delete) {
        forget(change.kvs.front().key);
    }
    drop_expired();
    revision_ = std::max(revision_, change.revision);
    for (const auto& [signal, jti] : signals)
        if (is_valid_uuid(jti))
            emit_(signal, jti);
    save_soon();  // the revision moved even when nothing of ours did
}

void FleetHost::save_soon() {
    if (save_pending_)
        return;
    if (!save_source_) {
        sd_event_source* raw = nullptr;
        if (!event_ || sd_event_add_defer(event_, &raw, on_save, this) < 0) {
            save_mirror();  // no loop to defer to: now
            return;
        }
        save_source_.reset(raw);
        sd_event_source_set_priority(raw, SD_EVENT_PRIORITY_IDLE);
    }
    save_pending_ = true;
    sd_event_source_set_enabled(save_source_.get(), SD_EVENT_ONESHOT);
}

int FleetHost::on_save(sd_event_source* /*s*/, void* userdata) {
    auto* self = static_cast<FleetHost*>(userdata);
    self->save_pending_ = false;
    try {
        self->save_mirror();
    } catch (const std::exception& e) {  // nothing may unwind into sd-event
        log_warning("fleet: cannot write {}: {}", self->mirror_path(), e.what());
    }
    return 0;
}

void FleetHost::drop_expired() {
    const usec_t now = clock_.now();
    std::erase_if(grants_, [now](const auto& g) { return g.second.exp <= now; });
    std::erase_if(revocations_, [now](const auto& r) { return r.second.exp <= now; });
}

HostGrants FleetHost::host_grants(const std::string& tenant, const std::string& host) const {
    HostGrants out;
    // The mirror holds this host's grants only; another host or tenant gets none.
    if (tenant != config_.tenant || host != config_.host_name)
        return out;
    const usec_t now = clock_.now();
    for (const auto& [jti, g] : grants_)
        if (g.exp > now && !revocations_.count(jti))
            out.grants.emplace_back(jti, g.token);
    for (const auto& [jti, r] : revocations_)
        if (r.exp > now)
            out.ended.push_back({jti, r.how, r.by});
    return out;
}

Status FleetHost::load_mirror() {
    UniqueFd fd(::open(mirror_path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid())
        return errno == ENOENT ? Status{} : make_error(Errc::IoError, mirror_path() + ": " + std::strerror(errno));
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > MAX_MIRROR_FILE)
            return make_error(Errc::StoreDamaged, mirror_path() + ": larger than 64 MiB");
    }
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("revision") || !j["revision"].is_number_integer() || !j.contains("grants") ||
        !j["grants"].is_object() || !j.contains("revocations") || !j["revocations"].is_object())
        return make_error(Errc::StoreDamaged, mirror_path() + ": not a mirror this release wrote");
    // Everything is verified again: trusted keys may have changed since.
    for (const auto& [jti, token] : j["grants"].items())
        if (token.is_string())
            take_grant(jti, token.get<std::string>());
    for (const auto& [jti, token] : j["revocations"].items())
        if (token.is_string())
            take_revocation(jti, token.get<std::string>());
    revision_ = j["revision"].get<int64_t>();
    log_info("fleet: mirror of revision {} loaded: {} grants, {} revocations", revision_, grants_.size(),
             revocations_.size());
    return {};
}

void FleetHost::save_mirror() {
    json j{{"revision", revision_}, {"grants", json::object()}, {"revocations", json::object()}};
    for (const auto& [jti, g] : grants_)
        j["grants"][jti] = g.token;
    for (const auto& [jti, r] : revocations_)
        j["revocations"][jti] = r.token;
    const std::string text = j.dump();
    const std::string tmp = mirror_path() + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    bool ok = fd.valid();
    size_t done = 0;
    while (ok && done < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += ok ? static_cast<size_t>(n) : 0;
    }
    ok = ok && ::fsync(fd.get()) == 0 && ::rename(tmp.c_str(), mirror_path().c_str()) == 0;
    if (!ok) {
        log_warning("fleet: cannot write {}: {}", mirror_path(), std::strerror(errno));
        ::unlink(tmp.c_str());
    }
}

}  // namespace lockbox::approval

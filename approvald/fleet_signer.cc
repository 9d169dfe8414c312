#include "fleet_signer.h"

#include <sodium.h>

#include <cstring>

#include "access_level.h"
#include "daemon_log.h"
#include "key_file.h"
#include "printable_text.h"
#include "request_record.h"
#include "revocation_token.h"
#include "time_format.h"

namespace lockbox::approval {

namespace {

// Between two full scans the signer acts on the changes its watch delivers;
// the scan catches what a broken watch missed and what the last holder left.
constexpr usec_t FULL_SCAN_PERIOD = 30 * USEC_PER_SEC;

std::string instance_id(const std::string& host) {
    unsigned char nonce[8];
    randombytes_buf(nonce, sizeof nonce);
    char hex[2 * sizeof nonce + 1];
    sodium_bin2hex(hex, sizeof hex, nonce, sizeof nonce);
    return host + "/" + hex;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

FleetSigner::FleetSigner(const Config& config, const Clock& clock, const WorkflowPolicy& policy,
                         EtcdRequestStore& store, sd_event* event,
                         std::function<void(const std::string& id)> signed_grant)
    : config_(config),
      clock_(clock),
      policy_(policy),
      store_(store),
      event_(event),
      signed_grant_(std::move(signed_grant)),
      issuer_(config),
      id_(instance_id(config.host_name)) {}

FleetSigner::~FleetSigner() {
    follower_.reset();
    resign();
}

Status FleetSigner::start() {
    sd_event_source* timer = nullptr;
    int r = sd_event_add_time(event_, &timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC / 20, on_timer, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot create the signer's timer: ") + std::strerror(-r));
    timer_.reset(timer);
    sd_event_source_set_enabled(timer_.get(), SD_EVENT_ON);
    auto client = fleet::EtcdClient::open(config_.fleet);
    if (!client)
        return client.error();
    const std::string prefix = store_.layout().requests;
    follower_ = std::make_unique<fleet::IssuedFollower>(
        std::move(*client), prefix, event_, [this, prefix](const fleet::IssuedChange& c) {
            if (!active())
                return;
            if (c.kind == fleet::IssuedChange::Kind::Snapshot) {
                sign_due();
                return;
            }
            if (c.kind != fleet::IssuedChange::Kind::Put)
                return;
            for (const auto& kv : c.kvs) {
                auto req = request_from_record(kv.value);
                if (!req || !starts_with(kv.key, prefix)) {
                    log_warning("fleet: {} is not a request record: {}", printable(kv.key, 128),
                                req ? "wrong key" : req.error().message);
                    continue;
                }
                req->version = kv.mod_revision;
                if (req->state == RequestState::Approved && req->token.empty())
                    sign_grant(*req);
                else if (is_ended_early(req->state) && !req->token.empty() && req->exp > clock_.now())
                    sign_revocation(*req);
            }
        });
    log_info("fleet: signer {} campaigning for {}", id_, store_.layout().signer_lock);
    return follower_->start();
}

void FleetSigner::campaign() {
    auto& etcd = store_.client();
    const std::string& lock = store_.layout().signer_lock;
    if (lease_ != 0) {
        if (auto s = etcd.lease_keep_alive(lease_); !s) {
            // Whatever the reason, the key may be gone: stop signing now; the
            // fence in every signing transaction makes sure of it anyway.
            log_warning("fleet: signer {} lost its lease: {}; campaigning again", id_, s.error().message);
            lease_ = 0;
            return;
        }
        // The lease lives, but the key may have been taken from us (etcd's
        // root rewrote it): then we are not the signer, whatever our lease says.
        if (auto held = etcd.get(lock); held && (held->kvs.empty() || held->kvs[0].value != id_)) {
            log_warning("fleet: signer {} no longer holds {}; campaigning again", id_, lock);
            (void)etcd.lease_revoke(lease_);
            lease_ = 0;
        }
        return;
    }
    auto lease = etcd.lease_grant(LEASE_TTL);
    if (!lease)
        return;
    auto t =
        etcd.txn({{fleet::Compare::Target::ModRevision, lock, 0, {}}}, {{fleet::Op::Kind::Put, lock, id_, *lease}});
    const bool won = t && (t->succeeded || store_.holds(lock, id_));  // our own attempt may have landed
    if (!won) {
        (void)etcd.lease_revoke(*lease);
        return;
    }
    lease_ = *lease;
    log_info("fleet: signer {} is the tenant's active signer", id_);
    sign_due();
}

void FleetSigner::resign() {
    if (lease_ == 0)
        return;
    // Revoking the lease deletes the key: a standby wins at its next campaign.
    (void)store_.client().lease_revoke(lease_);
    lease_ = 0;
}

void FleetSigner::sign_due() {
    if (!active())
        return;
    auto all = store_.list(std::nullopt);
    if (!all) {
        log_warning("fleet: signer cannot read the requests: {}", all.error().message);
        return;
    }
    auto revoked = store_.client().get_prefix(store_.layout().revocations);
    if (!revoked)
        return;
    std::set<std::string> published;
    for (const auto& kv : revoked->kvs)
        published.insert(kv.key.substr(store_.layout().revocations.size()));
    const usec_t now = clock_.now();
    for (const auto& r : *all) {
        if (r.state == RequestState::Approved && r.token.empty())
            sign_grant(r);
        else if (is_ended_early(r.state) && !r.token.empty() && r.exp > now && !published.count(r.id))
            sign_revocation(r);
    }
}

Status FleetSigner::signable(const Request& r) const {
    const auto refuse = [&](const std::string& why) { return make_error(Errc::Refused, why); };
    if (r.tenant != config_.tenant)
        return refuse("it names tenant " + r.tenant);
    if (!r.manager || !r.approver)
        return refuse("it lacks a manager's or an approver's approval");
    // Separation of duties as the workflow decides it, checked again here: a
    // record written past the workflow must still name three people.
    const auto& m = r.manager->approval.user;
    const auto& a = r.approver->approval.user;
    if (m == a || m == r.engineer || a == r.engineer)
        return refuse("the engineer, the manager and the approver are not three people");
    if (r.exp <= r.nbf || r.exp - r.nbf > policy_.max_grant || r.duration != r.exp - r.nbf)
        return refuse("its validity is longer than MaxGrant or does not match its duration");
    if (!r.access.empty() && !access_level_rank(policy_.access_levels, r.access))
        return refuse("access level " + r.access + " is not one of [Access] Levels=");
    if (r.exp <= clock_.now())
        return refuse("its window has closed");
    return {};
}

std::vector<fleet::Compare> FleetSigner::fence(const std::string& issued_key) const {
    return {{fleet::Compare::Target::Value, store_.layout().signer_lock, 0, id_},
            {fleet::Compare::Target::ModRevision, issued_key, 0, {}}};
}

Result<FleetSigner::SignedGrant> FleetSigner::prepare_grant(const Request& r) {
    if (auto ok = signable(r); !ok) {
        if (refused_.insert(r.id).second)
            log_error("fleet: signer refuses to sign request {}: {}", r.id, ok.error().message);
        return ok.error();
    }
    auto token = issuer_.issue(r);
    if (!token) {
        log_error("fleet: cannot sign request {}: {}", r.id, token.error().message);
        return token.error();
    }
    SignedGrant out{r, {}, 0};
    out.request.token = std::move(*token);
    out.request.updated_at = clock_.now();
    auto g = audit_for(AuditEvent::GrantIssued, r.approver->approval.user, out.request,
                       "grant " + r.id + " issued for " + r.engineer + ", access " +
                           effective_access_level(policy_.access_levels, r.access) + ", valid " +
                           format_rfc3339(r.nbf) + " to " + format_rfc3339(r.exp));
    g.fields["NBF"] = format_rfc3339(r.nbf);
    g.fields["EXP"] = format_rfc3339(r.exp);
    g.fields["SIGNER"] = id_;
    out.audit = std::move(g);
    auto lease = record_lease(r.exp);
    if (!lease)
        return lease.error();
    out.lease = *lease;
    return out;
}

Status FleetSigner::publish_grant(const SignedGrant& g, std::vector<AuditEntry> audit) {
    const std::string key = store_.layout().grant_key(g.request.id);
    audit.push_back(g.audit);
    auto s = store_.update_with(g.request, audit, fence(key), {{fleet::Op::Kind::Put, key, g.request.token, g.lease}});
    if (!s)
        (void)store_.client().lease_revoke(g.lease);
    else
        log_info("fleet: signed and published grant {} (signer {})", g.request.id, id_);
    return s;
}

void FleetSigner::sign_grant(const Request& r) {
    auto g = prepare_grant(r);
    if (!g)
        return;
    if (auto s = publish_grant(*g, {}); !s) {
        // Conflict: changed meanwhile (revoked before it was signed, or another
        // signer's) or we lost the election key; the next change or scan decides.
        if (s.error().code != Errc::Conflict)
            log_warning("fleet: cannot publish grant {}: {}", r.id, s.error().message);
        else
            log_info(
                "fleet: grant {} not written: the request changed meanwhile or signer {} no longer holds "
                "the election key",
                r.id, id_);
        return;
    }
    signed_grant_(r.id);
}

bool FleetSigner::sign_with_approval(Request& approved, std::vector<AuditEntry>& audit) {
    if (!active() || approved.state != RequestState::Approved || !approved.token.empty())
        return false;
    auto g = prepare_grant(approved);
    if (!g || !publish_grant(*g, audit))
        return false;
    approved = g->request;
    audit.push_back(g->audit);
    return true;
}

Result<FleetSigner::SignedRevocation> FleetSigner::prepare_revocation(const Request& r) {
    auto key = load_secret_key_file(config_.signing_key, expected_key_owner(config_));
    if (!key) {
        log_error("fleet: cannot sign the revocation of {}: {}", r.id, key.error().message);
        return key.error();
    }
    SignedRevocation out{lockbox::sign_revocation(*key, RevocationClaims{config_.tenant, r.id, state_name(r.state),
                                                                         r.closed_by, clock_.now(), r.exp}),
                         0};
    auto lease = record_lease(r.exp);
    if (!lease)
        return lease.error();
    out.lease = *lease;
    return out;
}

void FleetSigner::sign_revocation(const Request& r) {
    auto v = prepare_revocation(r);
    if (!v)
        return;
    const std::string key = store_.layout().revocation_key(r.id);
    auto t = store_.client().txn(fence(key), {{fleet::Op::Kind::Put, key, v->token, v->lease}});
    if (!t || !t->succeeded)
        (void)store_.client().lease_revoke(v->lease);
    if (!t)
        log_warning("fleet: cannot publish the revocation of {}: {}", r.id, t.error().message);
    else if (t->succeeded)
        log_info("fleet: signed and published the revocation of {} ({})", r.id, state_name(r.state));
}

bool FleetSigner::sign_with_ending(const Request& ended, const std::vector<AuditEntry>& audit) {
    if (!active() || !is_ended_early(ended.state) || ended.token.empty() || ended.exp <= clock_.now())
        return false;
    auto v = prepare_revocation(ended);
    if (!v)
        return false;
    const std::string key = store_.layout().revocation_key(ended.id);
    auto s = store_.update_with(ended, audit, fence(key), {{fleet::Op::Kind::Put, key, v->token, v->lease}});
    if (!s) {
        (void)store_.client().lease_revoke(v->lease);
        return false;
    }
    log_info("fleet: signed and published the revocation of {} ({}) with it", ended.id, state_name(ended.state));
    return true;
}

// Retention of issued/ (docs/fleet.md): a record lives until its grant's exp
// plus MaxGrant and ClockSkew, then etcd deletes it. A revocation therefore
// outlives every grant it could end by at least MaxGrant + ClockSkew, and
// issued/ does not grow with the tenant's history.
Result<int64_t> FleetSigner::record_lease(usec_t exp) {
    const usec_t now = clock_.now();
    const usec_t keep = (exp > now ? exp - now : 0) + policy_.max_grant + config_.clock_skew;
    auto lease = store_.client().lease_grant(std::chrono::seconds((keep + USEC_PER_SEC - 1) / USEC_PER_SEC));
    if (!lease)
        log_warning("fleet: cannot take a lease for an issued record: {}", lease.error().message);
    return lease;
}

int FleetSigner::on_timer(sd_event_source* s, uint64_t usec, void* userdata) {
    auto* self = static_cast<FleetSigner*>(userdata);
    try {
        const bool was_active = self->active();
        self->campaign();
        if (was_active && self->active() && usec - self->last_scan_ >= FULL_SCAN_PERIOD) {
            self->last_scan_ = usec;
            self->sign_due();
        }
    } catch (...) {
        log_error("fleet: signer campaign failed");
    }
    sd_event_source_set_time(s, usec + CAMPAIGN_PERIOD);
    return 0;
}

}  // namespace lockbox::approval

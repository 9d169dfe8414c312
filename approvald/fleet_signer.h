// The tenant's signing authority in a fleet (docs/fleet.md, "The signer"). It
// watches the shared requests, and for every request the workflow approved it
// signs the grant and writes the token into the request and into issued/ in
// one transaction; for every grant ended early it signs the revocation.
//
// One signer at a time: every signer instance campaigns for the election key
// signer/active, held by a lease that the holder renews every second and that
// etcd drops LEASE_TTL after the holder stops (killed, cut off). Each signing
// transaction compares that key with the instance's own id, so a signer that
// lost the key (paused past its lease, cut off) cannot write, and each request
// is signed over the version that had no token, so it carries one token, ever.
// A standby takes over within LEASE_TTL + one campaign period.
//
// Runs on the service's event loop: its etcd calls block for at most their
// deadline, like the store's (etcd_request_store.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <systemd/sd-event.h>

#include "audit_entry.h"
#include "clock.h"
#include "config.h"
#include "etcd_request_store.h"
#include "grant_issuer.h"
#include "issued_follower.h"
#include "request_workflow.h"
#include "sd_handles.h"

namespace lockbox::approval {

class FleetSigner {
public:
    static constexpr std::chrono::seconds LEASE_TTL{5};
    static constexpr usec_t CAMPAIGN_PERIOD = USEC_PER_SEC;

    // signed_grant(id) after a grant was signed and published (the service
    // forwards the audit outbox and emits GrantIssued).
    FleetSigner(const Config& config, const Clock& clock, const WorkflowPolicy& policy, EtcdRequestStore& store,
                sd_event* event, std::function<void(const std::string& id)> signed_grant);
    ~FleetSigner();  // resigns (revokes its lease), so a standby need not wait out the TTL

    Status start();
    bool active() const { return lease_ != 0; }

    // The final approval reaching the active signer itself: the approval
    // (approved, with its audit entries), the token and its publication in one
    // transaction, which saves the watch hop and a transaction (docs/fleet.md).
    // True when it landed: approved then carries the token and audit the
    // grant-issued entry. False when this instance did not sign (not the
    // active signer, not signable, the transaction failed) and wrote nothing:
    // the caller commits the approval alone, as a workflow instance does, and
    // the active signer's watch decides.
    bool sign_with_approval(Request& approved, std::vector<AuditEntry>& audit);
    // The same for a grant ended early (revoked, released) on the active
    // signer: the ended request, its audit entries and the signed revocation
    // in one transaction. False when it wrote nothing (as above).
    bool sign_with_ending(const Request& ended, const std::vector<AuditEntry>& audit);

private:
    struct SignedGrant {
        Request request;   // with its token
        AuditEntry audit;  // grant-issued
        int64_t lease;     // the issued/ record's (record_lease)
    };
    void campaign();
    void resign();
    void sign_due();
    // What every signing transaction compares (see above): this instance
    // holds the election key, and issued_key was never written.
    std::vector<fleet::Compare> fence(const std::string& issued_key) const;
    // Checks, signs and takes the record's lease; logs why not.
    Result<SignedGrant> prepare_grant(const Request& r);
    // The request with its token, audit and the grant-issued entry, and
    // issued/grants/<id>, in one transaction fenced on the election key and on
    // the grant's absence; the lease is given back when it fails.
    Status publish_grant(const SignedGrant& g, std::vector<AuditEntry> audit);
    void sign_grant(const Request& r);
    struct SignedRevocation {
        std::string token;
        int64_t lease;
    };
    Result<SignedRevocation> prepare_revocation(const Request& r);
    void sign_revocation(const Request& r);
    Result<int64_t> record_lease(usec_t exp);
    // What the signer checks itself before signing, whoever wrote the record.
    Status signable(const Request& r) const;
    static int on_timer(sd_event_source* s, uint64_t usec, void* userdata);

    const Config& config_;
    const Clock& clock_;
    const WorkflowPolicy& policy_;
    EtcdRequestStore& store_;
    sd_event* event_;
    std::function<void(const std::string&)> signed_grant_;
    GrantIssuer issuer_;
    std::string id_;  // host name and a random suffix: this process, not the host
    int64_t lease_ = 0;
    EventSourcePtr timer_;
    std::unique_ptr<fleet::IssuedFollower> follower_;
    std::set<std::string> refused_;  // logged once each
    usec_t last_scan_ = 0;           // CLOCK_MONOTONIC of the last full scan
};

}  // namespace lockbox::approval

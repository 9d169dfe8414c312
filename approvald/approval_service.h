// org.lockbox.Approval1: one context owning the config, the clock, the store, the
// bus object, the expiry timer, the outbox retry timer and the notifier. Every
// method handler has one shape: read and bound the arguments → validate →
// authorize from the sender's credentials → act in one store transaction with
// its audit records → forward the outbox to journald → emit signals → reply.
// The first steps are one prologue (Call::admit); every decision on who may do
// what is the workflow's (request_workflow.h), never a handler's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "clock.h"
#include "config.h"
#include "fleet_host.h"
#include "fleet_signer.h"
#include "grant_issuer.h"
#include "notifier.h"
#include "refusal_limiter.h"
#include "request_store.h"
#include "request_workflow.h"
#include "roles.h"
#include "sd_handles.h"

namespace lockbox::approval {

class ApprovalService {
public:
    // In fleet modes signer and workflow, store is the shared etcd store.
    ApprovalService(Config config, const Clock& clock, std::unique_ptr<RequestStore> store, sd_event* event,
                    sd_bus* bus);
    ~ApprovalService();
    ApprovalService(const ApprovalService&) = delete;
    ApprovalService& operator=(const ApprovalService&) = delete;

    // Registers the object, expires what timed out while we were down, forwards
    // audit records left in the outbox, prunes what is past the retention and
    // arms the expiry and retention timers.
    Status start();

    // The method handlers (request_methods.cc); each is wrapped so that no
    // exception reaches sd-bus.
    int create_request(sd_bus_message* m, sd_bus_error* e);
    int approve_request(sd_bus_message* m, sd_bus_error* e);
    int deny_request(sd_bus_message* m, sd_bus_error* e);
    int cancel_request(sd_bus_message* m, sd_bus_error* e);
    int get_request(sd_bus_message* m, sd_bus_error* e);
    int list_requests(sd_bus_message* m, sd_bus_error* e);
    int list_requests_page(sd_bus_message* m, sd_bus_error* e);
    int revoke_grant(sd_bus_message* m, sd_bus_error* e);
    int release_grant(sd_bus_message* m, sd_bus_error* e);
    int export_grant(sd_bus_message* m, sd_bus_error* e);
    int get_host_grants(sd_bus_message* m, sd_bus_error* e);
    int get_caller_roles(sd_bus_message* m, sd_bus_error* e);
    int get_access_levels(sd_bus_message* m, sd_bus_error* e);

private:
    // One method call: the prologue every handler shares (request_methods.cc).
    class Call;

    Result<Actor> caller(sd_bus_message* m);
    // Replies with the bus error for err, auditing it as call-refused unless it
    // is an internal failure (which is logged instead) or the caller's uid is
    // past its quota of audited refusals (refusal_limiter.h: then only counted).
    int refuse(sd_bus_error* e, const std::string& method, const Actor& actor, const Error& err,
               const Request* r = nullptr);
    // Looks up id after applying any due expiry, so no handler acts on a request
    // whose deadline passed while the timer had not fired yet.
    Result<Request> load(const std::string& id);
    // Stores r as expired (with its audit record) if it is pending past its
    // deadline; the expired request, or nullopt when nothing was due or
    // another instance got there first.
    std::optional<Request> expire(const Request& r, usec_t now);
    // Stores next (compare-and-set against prev's stored state) with its audit
    // entries, then forwards the outbox, emits RequestChanged and sends mail.
    Status commit_transition(const Request& prev, const Request& next, std::vector<AuditEntry> audit);
    // commit_transition for a grant ended early: on the tenant's active signer
    // the signed revocation goes out in the same transaction (fleet_signer.h).
    Status commit_ending(const Request& prev, const Request& next, std::vector<AuditEntry> audit);
    // What follows a stored transition: the outbox, RequestChanged, mail.
    void after_transition(const Request& next);

    void forward_outbox();
    // Writes a calls-refused-summary record for every limiter window that closed
    // (all of them with flush_all, at shutdown) and re-arms the window timer.
    void summarize_refusals(bool flush_all);
    void arm_expiry_timer();
    void sweep_expired();
    void emit(const char* signal, const std::string& id, const char* state = nullptr);
    Status start_fleet_role();
    void notify_for(const Request& r);
    void on_mail_done(const MailMessage& m, const Status& status);

    // Retention (request_retention.cc): prunes at start, then arms the daily timer.
    Status start_retention();
    void prune_ended_requests();

    static int on_expiry_timer(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_retention_timer(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_outbox_retry(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_refusal_window(sd_event_source* s, uint64_t usec, void* userdata);

    Config config_;
    const Clock& clock_;
    std::unique_ptr<RequestStore> store_;
    sd_event* event_;
    sd_bus* bus_;
    WorkflowPolicy policy_;
    GrantIssuer issuer_;
    Notifier notifier_;
    BusSlotPtr object_slot_;
    EventSourcePtr expiry_timer_;
    EventSourcePtr outbox_retry_;
    RefusalLimiter refusal_limiter_;
    EventSourcePtr refusal_window_timer_;
    EventSourcePtr retention_timer_;
    // [Fleet] Mode=host: grants come from the fleet's mirror; Mode=signer: this
    // instance campaigns to be the one that signs what the shared workflow
    // approved (docs/fleet.md).
    std::unique_ptr<FleetHost> fleet_host_;
    std::unique_ptr<FleetSigner> fleet_signer_;
};

}  // namespace lockbox::approval

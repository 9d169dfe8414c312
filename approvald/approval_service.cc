#include "approval_service.h"

#include <cstring>
#include <ctime>

#include "bus_api.h"
#include "daemon_log.h"

namespace lockbox::approval {

namespace {

constexpr size_t OUTBOX_BATCH = 256;
constexpr usec_t OUTBOX_RETRY = 5 * USEC_PER_SEC;
constexpr usec_t MAIL_TIMEOUT = 60 * USEC_PER_SEC;

// The loop's monotonic time; before the loop first ran (start-up, shutdown
// after sd_event_exit) sd_event_now has none, so ask the kernel.
usec_t monotonic_now(sd_event* event) {
    uint64_t t = 0;
    if (event && sd_event_now(event, CLOCK_MONOTONIC, &t) >= 0)
        return static_cast<usec_t>(t);
    return lockbox::monotonic_now();
}

// sd-bus callbacks are C: no exception may cross them.
template <int (ApprovalService::*Method)(sd_bus_message*, sd_bus_error*)>
int dispatch(sd_bus_message* m, void* userdata, sd_bus_error* e) noexcept {
    const char* member = sd_bus_message_get_member(m);
    try {
        return (static_cast<ApprovalService*>(userdata)->*Method)(m, e);
    } catch (const std::exception& ex) {
        log_error("internal error in {}: {}", member ? member : "?", ex.what());
    } catch (...) {
        log_error("internal error in {}", member ? member : "?");
    }
    return sd_bus_error_set(e, bus::ERROR_INTERNAL, "internal error; see the service's log");
}

const sd_bus_vtable APPROVAL_VTABLE[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES(
        "CreateRequest", "ssastsassts",
        SD_BUS_PARAM(tenant) SD_BUS_PARAM(ticket) SD_BUS_PARAM(hosts) SD_BUS_PARAM(duration_sec) SD_BUS_PARAM(reason)
            SD_BUS_PARAM(ssh_keys) SD_BUS_PARAM(engineer) SD_BUS_PARAM(start_usec) SD_BUS_PARAM(access),
        "s", SD_BUS_PARAM(id), dispatch<&ApprovalService::create_request>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ApproveRequest", "stss",
                             SD_BUS_PARAM(id) SD_BUS_PARAM(duration_sec) SD_BUS_PARAM(comment) SD_BUS_PARAM(access),
                             "s", SD_BUS_PARAM(new_state), dispatch<&ApprovalService::approve_request>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("DenyRequest", "ss", SD_BUS_PARAM(id) SD_BUS_PARAM(reason), "", "",
                             dispatch<&ApprovalService::deny_request>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("CancelRequest", "s", SD_BUS_PARAM(id), "", "", dispatch<&ApprovalService::cancel_request>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetRequest", "s", SD_BUS_PARAM(id), "s", SD_BUS_PARAM(json),
                             dispatch<&ApprovalService::get_request>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListRequests", "s", SD_BUS_PARAM(state), "s", SD_BUS_PARAM(json_array),
                             dispatch<&ApprovalService::list_requests>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListRequestsPage", "ssu", SD_BUS_PARAM(state) SD_BUS_PARAM(cursor) SD_BUS_PARAM(limit),
                             "ss", SD_BUS_PARAM(json_array) SD_BUS_PARAM(next_cursor),
                             dispatch<&ApprovalService::list_requests_page>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("RevokeGrant", "ss", SD_BUS_PARAM(id) SD_BUS_PARAM(reason), "", "",
                             dispatch<&ApprovalService::revoke_grant>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ReleaseGrant", "s", SD_BUS_PARAM(id), "", "", dispatch<&ApprovalService::release_grant>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ExportGrant", "s", SD_BUS_PARAM(id), "s", SD_BUS_PARAM(token),
                             dispatch<&ApprovalService::export_grant>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetHostGrants", "ss", SD_BUS_PARAM(tenant) SD_BUS_PARAM(host), "a(ss)a(sss)",
                             SD_BUS_PARAM(grants) SD_BUS_PARAM(ended), dispatch<&ApprovalService::get_host_grants>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetCallerRoles", "", "", "sas", SD_BUS_PARAM(user) SD_BUS_PARAM(roles),
                             dispatch<&ApprovalService::get_caller_roles>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetAccessLevels", "", "", "as", SD_BUS_PARAM(levels),
                             dispatch<&ApprovalService::get_access_levels>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("RequestChanged", "ss", SD_BUS_PARAM(id) SD_BUS_PARAM(state), 0),
    SD_BUS_SIGNAL_WITH_NAMES("GrantIssued", "s", SD_BUS_PARAM(id), 0),
    SD_BUS_SIGNAL_WITH_NAMES("GrantRevoked", "s", SD_BUS_PARAM(id), 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

ApprovalService::ApprovalService(Config config, const Clock& clock, std::unique_ptr<RequestStore> store,
                                 sd_event* event, sd_bus* bus)
    : config_(std::move(config)),
      clock_(clock),
      store_(std::move(store)),
      event_(event),
      bus_(bus),
      issuer_(config_),
      notifier_(event, config_.notify_command, MAIL_TIMEOUT,
                [this](const MailMessage& m, const Status& s) { on_mail_done(m, s); }) {
    policy_.max_grant = config_.max_grant;
    policy_.pending_timeout = config_.pending_timeout;
    policy_.engineer_group = config_.engineer_group;
    policy_.manager_group = config_.manager_group;
    policy_.approver_group = config_.approver_group;
    policy_.access_levels = config_.access_levels;
}

ApprovalService::~ApprovalService() {
    // Refusals counted in windows still open must not vanish with the process:
    // their summaries go to the outbox (and journald, if it takes them now).
    try {
        summarize_refusals(true);
    } catch (...) {
        log_error("cannot write the refused-call summaries at shutdown");
    }
}

Status ApprovalService::start() {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(bus_, &slot, bus::APPROVAL_PATH, bus::APPROVAL_IFACE, APPROVAL_VTABLE, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot register the bus object: ") + std::strerror(-r));
    object_slot_.reset(slot);

    sd_event_source* timer = nullptr;
    r = sd_event_add_time(event_, &timer, CLOCK_REALTIME, UINT64_MAX, USEC_PER_SEC / 10, on_expiry_timer, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot create the expiry timer: ") + std::strerror(-r));
    expiry_timer_.reset(timer);
    r = sd_event_add_time(event_, &timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC, on_outbox_retry, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot create the outbox timer: ") + std::strerror(-r));
    outbox_retry_.reset(timer);
    r = sd_event_add_time(event_, &timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC, on_refusal_window, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot create the refused-call timer: ") + std::strerror(-r));
    refusal_window_timer_.reset(timer);
    sd_event_source_set_enabled(refusal_window_timer_.get(), SD_EVENT_OFF);

    forward_outbox();
    sweep_expired();
    arm_expiry_timer();
    if (auto st = start_retention(); !st)
        return st;
    return start_fleet_role();
}

Status ApprovalService::start_fleet_role() {
    switch (config_.fleet.mode) {
    case FleetMode::None:
        return {};
    case FleetMode::Host:
        fleet_host_ = std::make_unique<FleetHost>(
            config_, clock_, event_, [this](const char* signal, const std::string& id) { emit(signal, id); });
        return fleet_host_->start();
    case FleetMode::Signer: {
        auto* shared = dynamic_cast<EtcdRequestStore*>(store_.get());
        if (!shared)
            return make_error(Errc::Internal, "signer mode needs the shared store");
        fleet_signer_ =
            std::make_unique<FleetSigner>(config_, clock_, policy_, *shared, event_, [this](const std::string& id) {
                forward_outbox();
                emit("GrantIssued", id);
            });
        return fleet_signer_->start();
    }
    case FleetMode::Workflow:
        return {};
    }
    return {};
}

Result<Actor> ApprovalService::caller(sd_bus_message* m) {
    sd_bus_creds* raw = nullptr;
    // EUID only: dbus-daemon vouches for it (SO_PEERCRED at connect). Augmenting
    // from /proc would race against the sender exec'ing something else.
    int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &raw);
    BusCredsPtr creds(raw);
    uid_t uid = 0;
    if (r < 0 || sd_bus_creds_get_euid(creds.get(), &uid) < 0)
        return make_error(Errc::Internal, "cannot determine the caller's user id");
    return resolve_actor(uid, config_);
}

int ApprovalService::refuse(sd_bus_error* e, const std::string& method, const Actor& actor, const Error& err,
                            const Request* r) {
    const char* name = bus_error_name(err.code);
    if (is_internal(err.code)) {
        log_error("{} by {} failed: {}", method, actor.name, err.message);
        return sd_bus_error_set(e, name, ("internal error: " + err.message).c_str());
    }
    const bool audit_this_one = refusal_limiter_.admit(actor.uid, monotonic_now(event_));
    if (refusal_window_timer_) {
        int enabled = SD_EVENT_OFF;
        sd_event_source_get_enabled(refusal_window_timer_.get(), &enabled);
        if (enabled == SD_EVENT_OFF)
            summarize_refusals(false);  // arms the timer at the window's end
    }
    if (!audit_this_one)
        return sd_bus_error_set(e, name, err.message.c_str());
    AuditEntry a;
    if (r)
        a = audit_for(AuditEvent::CallRefused, actor.name, *r, "");
    a.event = AuditEvent::CallRefused;
    a.actor = actor.name;
    a.message = method + " by " + actor.name + " refused: " + err.message;
    a.priority = 4;  // LOG_WARNING
    a.fields["REASON"] = err.message;
    a.fields["METHOD"] = method;
    a.fields["REFUSAL"] = errc_name(err.code);
    if (auto s = store_->append_audit({a}); !s)
        log_error("cannot store the audit record for a refused call: {}", s.error().message);
    forward_outbox();
    return sd_bus_error_set(e, name, err.message.c_str());
}

Result<Request> ApprovalService::load(const std::string& id) {
    auto r = store_->get(id);
    if (!r && r.error().code == Errc::NotFound)
        return make_error(Errc::NotFound, "no request with id " + id);
    if (!r)
        return r;
    // This request alone: a sweep would read every request, which a shared
    // store (etcd, no index) pays for on every call. The timer sweeps the rest.
    if (auto expired = expire(*r, clock_.now()))
        return *expired;
    return r;
}

std::optional<Request> ApprovalService::expire(const Request& r, usec_t now) {
    auto next = expire_if_due(r, now);
    if (!next)
        return std::nullopt;
    auto a = audit_for(AuditEvent::RequestExpired, daemon_actor().name, *next,
                       "request " + r.id + " expired: nobody finished approving it in time");
    a.fields["REASON"] = next->close_reason;
    if (auto s = commit_transition(r, *next, {a}); !s) {
        if (s.error().code != Errc::Conflict)
            log_error("cannot expire {}: {}", r.id, s.error().message);
        return std::nullopt;  // another instance changed it: the caller reads what is stored
    }
    return next;
}

Status ApprovalService::commit_transition(const Request& prev, const Request& next, std::vector<AuditEntry> audit) {
    if (auto s = store_->update(next, prev.state, audit); !s)
        return s;
    after_transition(next);
    return {};
}

Status ApprovalService::commit_ending(const Request& prev, const Request& next, std::vector<AuditEntry> audit) {
    if (fleet_signer_ && fleet_signer_->sign_with_ending(next, audit)) {
        after_transition(next);
        return {};
    }
    return commit_transition(prev, next, std::move(audit));
}

void ApprovalService::after_transition(const Request& next) {
    forward_outbox();
    emit("RequestChanged", next.id, state_name(next.state));
    notify_for(next);
}

void ApprovalService::forward_outbox() {
    for (;;) {
        auto batch = store_->unsent_audit(OUTBOX_BATCH);
        if (!batch) {
            log_error("cannot read the audit outbox: {}", batch.error().message);
            break;
        }
        std::vector<int64_t> sent;
        bool retry = false;
        for (const auto& item : *batch) {
            if (auto s = item.entry.to_record().send(); !s) {
                // journald refused or is gone: keep it, try again shortly.
                log_warning("audit record {} not sent yet: {}", item.seq, s.error().message);
                uint64_t mono = 0;
                sd_event_now(event_, CLOCK_MONOTONIC, &mono);
                sd_event_source_set_time(outbox_retry_.get(), mono + static_cast<uint64_t>(OUTBOX_RETRY));
                sd_event_source_set_enabled(outbox_retry_.get(), SD_EVENT_ONESHOT);
                retry = true;
                break;
            }
            sent.push_back(item.seq);
        }
        if (auto s = store_->remove_sent_audit(sent); !s) {
            // Sent but not removed: a restart sends them again. A duplicate beats a loss.
            log_error("cannot remove sent audit records from the outbox: {}", s.error().message);
            return;
        }
        if (retry || batch->size() < OUTBOX_BATCH)
            break;
    }
}

void ApprovalService::sweep_expired() {
    const usec_t now = clock_.now();
    auto due = store_->due_for_expiry(now);
    if (!due) {
        log_error("expiry sweep failed: {}", due.error().message);
        return;
    }
    for (const auto& r : *due)
        (void)expire(r, now);
    arm_expiry_timer();
}

void ApprovalService::arm_expiry_timer() {
    if (!expiry_timer_)
        return;
    auto next = store_->next_pending_deadline();
    if (!next || !*next) {
        sd_event_source_set_enabled(expiry_timer_.get(), SD_EVENT_OFF);
        return;
    }
    sd_event_source_set_time(expiry_timer_.get(), static_cast<uint64_t>(std::max<usec_t>(**next, 1)));
    sd_event_source_set_enabled(expiry_timer_.get(), SD_EVENT_ONESHOT);
}

int ApprovalService::on_expiry_timer(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    try {
        static_cast<ApprovalService*>(userdata)->sweep_expired();
    } catch (...) {
        log_error("expiry sweep failed");
    }
    return 0;
}

void ApprovalService::summarize_refusals(bool flush_all) {
    const usec_t mono = monotonic_now(event_);
    std::vector<AuditEntry> summaries;
    for (const auto& w : refusal_limiter_.close_windows(mono, flush_all)) {
        // The overflow window also holds callers whose credentials the bus
        // could not tell (refuse() names them "unknown" too).
        Actor who;
        who.name = "unknown";
        if (w.uid != REFUSAL_OVERFLOW_UID) {
            auto resolved = resolve_actor(w.uid, config_);
            who.name = resolved ? resolved->name : "uid:" + std::to_string(w.uid);
        }
        const usec_t seconds = std::max<usec_t>((w.window_end - w.window_start) / USEC_PER_SEC, 1);
        AuditEntry a;
        a.event = AuditEvent::CallsRefusedSummary;
        a.actor = who.name;
        a.priority = 4;  // LOG_WARNING
        a.message = std::to_string(w.suppressed) + " more calls by " + who.name + " refused in " +
                    std::to_string(seconds) + " s (" + std::to_string(w.total) + " in all)";
        a.fields["REASON"] = std::to_string(w.total) + " calls refused in " + std::to_string(seconds) +
                             " s; the first " + std::to_string(w.total - w.suppressed) + " were audited one by one, " +
                             std::to_string(w.suppressed) + " only counted";
        a.fields["COUNT"] = std::to_string(w.suppressed);
        a.fields["TOTAL"] = std::to_string(w.total);
        a.fields["WINDOW_SEC"] = std::to_string(seconds);
        if (w.uid != REFUSAL_OVERFLOW_UID)
            a.fields["CALLER_UID"] = std::to_string(w.uid);
        summaries.push_back(std::move(a));
    }
    if (!summaries.empty()) {
        if (auto s = store_->append_audit(summaries); !s)
            log_error("cannot store the refused-call summaries: {}", s.error().message);
        forward_outbox();
    }
    if (!refusal_window_timer_)
        return;
    auto next = refusal_limiter_.next_close();
    if (!next) {
        sd_event_source_set_enabled(refusal_window_timer_.get(), SD_EVENT_OFF);
        return;
    }
    sd_event_source_set_time(refusal_window_timer_.get(), static_cast<uint64_t>(*next));
    sd_event_source_set_enabled(refusal_window_timer_.get(), SD_EVENT_ONESHOT);
}

int ApprovalService::on_refusal_window(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    try {
        static_cast<ApprovalService*>(userdata)->summarize_refusals(false);
    } catch (...) {
        log_error("refused-call summary failed");
    }
    return 0;
}

int ApprovalService::on_outbox_retry(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    try {
        static_cast<ApprovalService*>(userdata)->forward_outbox();
    } catch (...) {
        log_error("audit forwarding failed");
    }
    return 0;
}

void ApprovalService::emit(const char* signal, const std::string& id, const char* state) {
    int r = state ? sd_bus_emit_signal(bus_, bus::APPROVAL_PATH, bus::APPROVAL_IFACE, signal, "ss", id.c_str(), state)
                  : sd_bus_emit_signal(bus_, bus::APPROVAL_PATH, bus::APPROVAL_IFACE, signal, "s", id.c_str());
    if (r < 0)
        log_warning("cannot emit {} for {}: {}", signal, id, std::strerror(-r));
}

void ApprovalService::notify_for(const Request& r) {
    std::optional<MailMessage> m;
    if (r.state == RequestState::PendingApprover)
        m = approver_mail(r, config_);
    else
        m = engineer_mail(r, config_);
    if (m)
        notifier_.send(*m, clock_.now());
}

void ApprovalService::on_mail_done(const MailMessage& m, const Status& status) {
    auto r = store_->get(m.request_id);
    AuditEntry a;
    if (r)
        a = audit_for(AuditEvent::NotificationSent, daemon_actor().name, *r, "");
    a.actor = daemon_actor().name;
    a.fields["NOTIFICATION"] = m.kind;
    a.fields["RECIPIENTS"] = [&] {
        std::string s;
        for (const auto& to : m.to)
            s += (s.empty() ? "" : " ") + to;
        return s;
    }();
    if (status) {
        a.event = AuditEvent::NotificationSent;
        a.message = "notification (" + m.kind + ") for request " + m.request_id + " sent to " + a.fields["RECIPIENTS"];
    } else {
        a.event = AuditEvent::NotificationFailed;
        a.priority = 3;  // LOG_ERR
        a.message = "notification (" + m.kind + ") for request " + m.request_id + " failed: " + status.error().message;
        a.fields["REASON"] = status.error().message;
    }
    if (auto s = store_->append_audit({a}); !s)
        log_error("cannot store the notification audit record: {}", s.error().message);
    forward_outbox();
}

}  // namespace lockbox::approval

// Retention ([Policy] Retention=, docs/configuration.md): requests that ended
// longer ago than the retention leave the store at start and once a day, each
// run audited as requests-pruned in the same transaction as the deletion. The
// store is the workflow's working set, not the record: the journal keeps every
// request's audit trail (lockboxctl audit report), so the store need not grow
// with every request ever filed.
#include <cstring>

#include "approval_service.h"
#include "daemon_log.h"
#include "time_format.h"

namespace lockbox::approval {

namespace {
constexpr usec_t RETENTION_PERIOD = 24ULL * 3600 * USEC_PER_SEC;  // one run a day
constexpr usec_t RETENTION_ACCURACY = 60 * USEC_PER_SEC;          // sd-event may batch the wake-up
}  // namespace

void ApprovalService::prune_ended_requests() {
    const usec_t now = clock_.now();
    const usec_t cutoff = now > config_.retention ? now - config_.retention : 0;
    auto pruned = store_->prune_ended(cutoff, [&](size_t count) {
        AuditEntry a;
        a.event = AuditEvent::RequestsPruned;
        a.actor = daemon_actor().name;
        a.message = std::to_string(count) + " requests that ended before " + format_rfc3339(cutoff) +
                    " pruned from the store (retention " + format_duration(config_.retention) + ")";
        a.fields["COUNT"] = std::to_string(count);
        a.fields["CUTOFF"] = format_rfc3339(cutoff);
        a.fields["RETENTION"] = format_duration(config_.retention);
        return a;
    });
    if (!pruned) {
        log_error("cannot prune ended requests: {}", pruned.error().message);
        return;
    }
    forward_outbox();
}

Status ApprovalService::start_retention() {
    prune_ended_requests();
    sd_event_source* timer = nullptr;
    // CLOCK_MONOTONIC: a day of running, whatever the wall clock does.
    uint64_t mono = 0;
    sd_event_now(event_, CLOCK_MONOTONIC, &mono);
    int r = sd_event_add_time(event_, &timer, CLOCK_MONOTONIC, mono + RETENTION_PERIOD, RETENTION_ACCURACY,
                              on_retention_timer, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot create the retention timer: ") + std::strerror(-r));
    retention_timer_.reset(timer);
    sd_event_source_set_enabled(retention_timer_.get(), SD_EVENT_ON);
    return {};
}

int ApprovalService::on_retention_timer(sd_event_source* s, uint64_t usec, void* userdata) {
    auto* self = static_cast<ApprovalService*>(userdata);
    try {
        self->prune_ended_requests();
    } catch (...) {
        log_error("pruning ended requests failed");
    }
    sd_event_source_set_time(s, usec + RETENTION_PERIOD);
    return 0;
}

}  // namespace lockbox::approval

// lockboxd's side of org.lockbox.Approval1. Signals are hints, never orders.
// Owner changes are believed only from the bus driver itself (sender exactly
// org.freedesktop.DBus: on the system bus any local user can send lockboxd a
// unicast NameOwnerChanged that a match on sender does not filter) and, even
// then, only after GetNameOwner confirms them. GrantIssued/GrantRevoked count
// only from the unique name that owns org.lockbox.Approval1, and then only
// trigger an asynchronous GetHostGrants; grants are installed after lockboxd
// verified them itself, and a revocation acts only once that reply lists it.
// The full list is asked for again at least every [Policy] ResyncInterval, so
// a lost or refused signal delays a revocation by no more than that. Refused
// signals are audited (forged_signal_audit.h). Nothing here blocks.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "clock.h"
#include "forged_signal_audit.h"
#include "grant_registry.h"
#include "result.h"
#include "sd_handles.h"

namespace lockboxd {

class ApprovalClient {
public:
    using OnHostGrants = std::function<void(const std::vector<std::pair<std::string, std::string>>& grants,
                                            const std::vector<EndedGrant>& ended)>;

    ApprovalClient(sd_bus* bus, sd_event* event, std::string tenant, std::string host, lockbox::usec_t resync_interval,
                   OnHostGrants on_host_grants, ForgedSignalAudit::Sink audit);
    lockbox::Status start();

    bool reachable() const { return !owner_.empty(); }
    const std::string& owner() const { return owner_; }
    size_t signals_ignored() const { return signals_ignored_; }
    size_t resyncs_done() const { return resyncs_done_; }
    void resync();

private:
    static int on_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_get_owner_reply(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_signal(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_host_grants_reply(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_period(sd_event_source* s, uint64_t usec, void* userdata);
    // Asks the bus driver who owns the name; the reply sets owner_. A resync
    // follows when the owner appeared, or when resync_after is set.
    void confirm_owner(bool resync_after);
    bool set_owner(const std::string& owner);  // true: it resynced
    void arm_period();

    sd_bus* bus_;
    sd_event* event_;
    std::string tenant_;
    std::string host_;
    lockbox::usec_t resync_interval_;
    OnHostGrants on_host_grants_;
    ForgedSignalAudit forged_;
    std::string owner_;
    lockbox::BusSlotPtr owner_match_;
    lockbox::BusSlotPtr signal_match_;
    lockbox::BusSlotPtr owner_call_;
    lockbox::BusSlotPtr resync_call_;
    lockbox::EventSourcePtr period_;
    bool owner_pending_ = false;  // another GetNameOwner after the running one
    bool resync_after_owner_ = false;
    bool resync_pending_ = false;
    size_t signals_ignored_ = 0;
    size_t resyncs_done_ = 0;
};

}  // namespace lockboxd

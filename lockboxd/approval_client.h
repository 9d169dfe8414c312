// lockboxd's side of org.lockbox.Approval1. Signals are hints, never orders:
// one is accepted only from the unique name that currently owns
// org.lockbox.Approval1 (tracked through NameOwnerChanged, since a unicast
// signal from any local user would otherwise reach our match), and then only
// triggers an asynchronous GetHostGrants; grants are installed after lockboxd
// verified them itself, and a revocation acts only once that reply lists it.
// Nothing here blocks inside a handler.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "result.h"
#include "unique_handles.h"

namespace lockboxd {

class ApprovalClient {
public:
    using OnHostGrants = std::function<void(const std::vector<std::pair<std::string, std::string>>& grants,
                                            const std::vector<std::string>& revoked)>;

    ApprovalClient(sd_bus* bus, std::string tenant, std::string host, OnHostGrants on_host_grants);
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
    void set_owner(const std::string& owner);

    sd_bus* bus_;
    std::string tenant_;
    std::string host_;
    OnHostGrants on_host_grants_;
    std::string owner_;
    BusSlotPtr owner_match_;
    BusSlotPtr signal_match_;
    BusSlotPtr owner_call_;
    BusSlotPtr resync_call_;
    bool resync_pending_ = false;
    size_t signals_ignored_ = 0;
    size_t resyncs_done_ = 0;
};

}  // namespace lockboxd

#include "approval_client.h"

#include <cstring>

#include "bus_api.h"
#include "log.h"
#include "names.h"

namespace lockboxd {

namespace {
constexpr size_t MAX_HOST_GRANTS = 100000;
constexpr uint64_t RESYNC_TIMEOUT_USEC = 30 * 1000000ull;
}  // namespace

ApprovalClient::ApprovalClient(sd_bus* bus, std::string tenant, std::string host, OnHostGrants on_host_grants)
    : bus_(bus), tenant_(std::move(tenant)), host_(std::move(host)), on_host_grants_(std::move(on_host_grants)) {}

lockbox::Status ApprovalClient::start() {
    sd_bus_slot* slot = nullptr;
    std::string rule = std::string("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                   "member='NameOwnerChanged',arg0='") + lockbox::bus::APPROVAL_NAME + "'";
    int r = sd_bus_add_match_async(bus_, &slot, rule.c_str(), on_owner_changed, nullptr, this);
    if (r < 0)
        return lockbox::make_error("bus", std::string("cannot watch the approval service: ") + std::strerror(-r));
    owner_match_.reset(slot);
    // No sender filter on purpose: on_signal checks the sender against the
    // tracked owner, which also covers unicast signals.
    r = sd_bus_match_signal_async(bus_, &slot, nullptr, lockbox::bus::APPROVAL_PATH, lockbox::bus::APPROVAL_IFACE,
                                  nullptr, on_signal, nullptr, this);
    if (r < 0)
        return lockbox::make_error("bus", std::string("cannot subscribe to approval signals: ") + std::strerror(-r));
    signal_match_.reset(slot);
    r = sd_bus_call_method_async(bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "GetNameOwner", on_get_owner_reply, this, "s", lockbox::bus::APPROVAL_NAME);
    if (r < 0)
        return lockbox::make_error("bus", std::string("GetNameOwner: ") + std::strerror(-r));
    owner_call_.reset(slot);
    return {};
}

void ApprovalClient::set_owner(const std::string& owner) {
    bool appeared = !owner.empty() && owner != owner_;
    owner_ = owner;
    if (appeared) {
        log_info("approval service is " + owner + "; resynchronising grants");
        resync();
    }
}

int ApprovalClient::on_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
        return 0;
    if (std::strcmp(name, lockbox::bus::APPROVAL_NAME) != 0)
        return 0;
    self->set_owner(new_owner);
    return 0;
}

int ApprovalClient::on_get_owner_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    self->owner_call_.reset();
    if (sd_bus_message_is_method_error(m, nullptr))
        return 0;  // no owner yet; NameOwnerChanged tells us when it comes
    const char* owner = nullptr;
    if (sd_bus_message_read(m, "s", &owner) >= 0 && self->owner_.empty())
        self->set_owner(owner);
    return 0;
}

int ApprovalClient::on_signal(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    const char* sender = sd_bus_message_get_sender(m);
    const char* member = sd_bus_message_get_member(m);
    if (!member || (std::strcmp(member, "GrantIssued") != 0 && std::strcmp(member, "GrantRevoked") != 0))
        return 0;
    if (!sender || self->owner_.empty() || self->owner_ != sender) {
        self->signals_ignored_++;
        log_warning(std::string("ignoring ") + member + " from " + (sender ? sender : "?") +
                    ", which does not own " + lockbox::bus::APPROVAL_NAME);
        return 0;
    }
    const char* id = nullptr;
    if (sd_bus_message_read(m, "s", &id) < 0 || !lockbox::is_valid_uuid(id)) {
        log_warning(std::string("ignoring ") + member + " with a malformed id");
        return 0;
    }
    self->resync();
    return 0;
}

void ApprovalClient::resync() {
    if (owner_.empty())
        return;
    if (resync_call_) {
        resync_pending_ = true;  // one more after the running one: it may predate the news
        return;
    }
    sd_bus_slot* slot = nullptr;
    BusMessagePtr call;
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, lockbox::bus::APPROVAL_NAME, lockbox::bus::APPROVAL_PATH,
                                           lockbox::bus::APPROVAL_IFACE, "GetHostGrants");
    if (r < 0)
        return;
    call.reset(raw);
    if (sd_bus_message_append(call.get(), "ss", tenant_.c_str(), host_.c_str()) < 0)
        return;
    r = sd_bus_call_async(bus_, &slot, call.get(), on_host_grants_reply, this, RESYNC_TIMEOUT_USEC);
    if (r < 0) {
        log_warning(std::string("cannot ask the approval service for grants: ") + std::strerror(-r));
        return;
    }
    resync_call_.reset(slot);
}

int ApprovalClient::on_host_grants_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    self->resync_call_.reset();
    auto again = [self] {
        if (self->resync_pending_) {
            self->resync_pending_ = false;
            self->resync();
        }
    };
    if (sd_bus_message_is_method_error(m, nullptr)) {
        const sd_bus_error* e = sd_bus_message_get_error(m);
        log_warning(std::string("GetHostGrants failed: ") + (e && e->message ? e->message : "unknown error"));
        again();
        return 0;
    }
    std::vector<std::pair<std::string, std::string>> grants;
    std::vector<std::string> revoked;
    bool ok = sd_bus_message_enter_container(m, 'a', "(ss)") >= 0;
    while (ok) {
        const char *id = nullptr, *token = nullptr;
        int r = sd_bus_message_read(m, "(ss)", &id, &token);
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        if (grants.size() < MAX_HOST_GRANTS && std::strlen(token) <= lockbox::bus::MAX_TOKEN &&
            lockbox::is_valid_uuid(id))
            grants.emplace_back(id, token);
    }
    ok = ok && sd_bus_message_exit_container(m) >= 0;
    ok = ok && sd_bus_message_enter_container(m, 'a', "s") >= 0;
    while (ok) {
        const char* id = nullptr;
        int r = sd_bus_message_read(m, "s", &id);
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        if (revoked.size() < MAX_HOST_GRANTS && lockbox::is_valid_uuid(id))
            revoked.emplace_back(id);
    }
    if (!ok) {
        log_warning("GetHostGrants returned a malformed reply");
    } else {
        self->resyncs_done_++;
        self->on_host_grants_(grants, revoked);
    }
    again();
    return 0;
}

}  // namespace lockboxd

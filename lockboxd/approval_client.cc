#include "approval_client.h"

#include <cstring>
#include <utility>

#include "bus_api.h"
#include "log.h"
#include "names.h"

namespace lockboxd {

namespace {
constexpr size_t MAX_HOST_GRANTS = 100000;
constexpr uint64_t RESYNC_TIMEOUT_USEC = 30 * 1000000ull;
constexpr uint64_t PERIOD_ACCURACY_USEC = 1000;  // sd-event would otherwise add up to 250 ms
}  // namespace

ApprovalClient::ApprovalClient(sd_bus* bus, sd_event* event, std::string tenant, std::string host,
                               lockbox::usec_t resync_interval, OnHostGrants on_host_grants,
                               ForgedSignalAudit::Sink audit)
    : bus_(bus),
      event_(event),
      tenant_(std::move(tenant)),
      host_(std::move(host)),
      resync_interval_(resync_interval),
      on_host_grants_(std::move(on_host_grants)),
      forged_(bus, std::move(audit)) {}

lockbox::Status ApprovalClient::start() {
    sd_bus_slot* slot = nullptr;
    // The sender filter only spares us the broadcasts of other names: a
    // unicast signal reaches the callback whatever it says (see on_owner_changed).
    std::string rule = std::string(
                           "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                           "member='NameOwnerChanged',arg0='") +
                       lockbox::bus::APPROVAL_NAME + "'";
    int r = sd_bus_add_match_async(bus_, &slot, rule.c_str(), on_owner_changed, nullptr, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot watch the approval service: ") + std::strerror(-r));
    owner_match_.reset(slot);
    // No sender filter on purpose: on_signal checks the sender against the
    // tracked owner, which also covers unicast signals.
    r = sd_bus_match_signal_async(bus_, &slot, nullptr, lockbox::bus::APPROVAL_PATH, lockbox::bus::APPROVAL_IFACE,
                                  nullptr, on_signal, nullptr, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot subscribe to approval signals: ") + std::strerror(-r));
    signal_match_.reset(slot);
    if (event_) {
        sd_event_source* raw = nullptr;
        r = sd_event_add_time_relative(event_, &raw, CLOCK_MONOTONIC, resync_interval_, PERIOD_ACCURACY_USEC, on_period,
                                       this);
        if (r < 0)
            return lockbox::make_error(lockbox::Errc::Internal,
                                       std::string("cannot add the resync timer: ") + std::strerror(-r));
        period_.reset(raw);
        sd_event_source_set_description(raw, "approval-resync");
    }
    confirm_owner(false);
    if (!owner_call_)
        return lockbox::make_error(lockbox::Errc::Unavailable, "GetNameOwner could not be sent");
    return {};
}

void ApprovalClient::arm_period() {
    if (!period_)
        return;
    sd_event_source_set_time_relative(period_.get(), resync_interval_);
    sd_event_source_set_enabled(period_.get(), SD_EVENT_ONESHOT);
}

int ApprovalClient::on_period(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    self->forged_.flush();
    // Who owns the name is asked again too: a NameOwnerChanged lost on the way
    // would otherwise leave the new owner's signals refused.
    self->confirm_owner(true);
    self->arm_period();
    return 0;
}

bool ApprovalClient::set_owner(const std::string& owner) {
    bool appeared = !owner.empty() && owner != owner_;
    if (owner.empty() && !owner_.empty())
        log_warning(std::string(lockbox::bus::APPROVAL_NAME) + " has no owner any more (confirmed by the bus)");
    owner_ = owner;
    if (appeared) {
        log_info("approval service is " + owner + "; resynchronising grants");
        resync();
    }
    return appeared;
}

void ApprovalClient::confirm_owner(bool resync_after) {
    resync_after_owner_ |= resync_after;
    if (owner_call_) {
        owner_pending_ = true;  // the running one may predate the change
        return;
    }
    sd_bus_slot* slot = nullptr;
    int r =
        sd_bus_call_method_async(bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "GetNameOwner", on_get_owner_reply, this, "s", lockbox::bus::APPROVAL_NAME);
    if (r < 0) {
        log_warning(std::string("GetNameOwner: ") + std::strerror(-r));
        return;
    }
    owner_call_.reset(slot);
}

int ApprovalClient::on_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    // Only the bus driver sends as org.freedesktop.DBus: dbus-daemon (and
    // dbus-broker) stamp every peer's message with the peer's unique name, and
    // nobody else can own the driver's name.
    const char* sender = sd_bus_message_get_sender(m);
    if (!sender || std::strcmp(sender, "org.freedesktop.DBus") != 0) {
        self->signals_ignored_++;
        self->forged_.refused(m, "NameOwnerChanged not sent by the bus driver");
        return 0;
    }
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
        return 0;
    if (std::strcmp(name, lockbox::bus::APPROVAL_NAME) != 0)
        return 0;
    // Even the driver's word is taken only as a reason to ask: the reply to
    // GetNameOwner is what counts, and it comes in order after this signal.
    self->confirm_owner(false);
    return 0;
}

int ApprovalClient::on_get_owner_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = static_cast<ApprovalClient*>(userdata);
    self->owner_call_.reset();
    bool resync_after = std::exchange(self->resync_after_owner_, false);
    bool resynced = false;
    if (sd_bus_message_is_method_error(m, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
        self->set_owner("");  // NameOwnerChanged tells us when it comes
    } else if (sd_bus_message_is_method_error(m, nullptr)) {
        const sd_bus_error* e = sd_bus_message_get_error(m);
        log_warning(std::string("GetNameOwner failed: ") + (e && e->message ? e->message : "unknown error"));
    } else {
        const char* owner = nullptr;
        if (sd_bus_message_read(m, "s", &owner) >= 0)
            resynced = self->set_owner(owner);
    }
    if (resync_after && !resynced)
        self->resync();
    if (self->owner_pending_) {
        self->owner_pending_ = false;
        self->confirm_owner(false);
    }
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
        if (self->owner_call_) {
            // The owner is being confirmed right now: this may be the new
            // owner speaking first. Ask for the list once it is known.
            log_info(std::string("ignoring ") + member + " from " + (sender ? sender : "?") + " until the owner of " +
                     lockbox::bus::APPROVAL_NAME + " is confirmed");
            self->resync_after_owner_ = true;
            return 0;
        }
        self->forged_.refused(m, std::string("the sender does not own ") + lockbox::bus::APPROVAL_NAME);
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
    lockbox::BusMessagePtr call;
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
    arm_period();  // the period counts from the last full list asked for
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
    std::vector<EndedGrant> ended;
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
    ok = ok && sd_bus_message_enter_container(m, 'a', "(sss)") >= 0;
    while (ok) {
        const char *id = nullptr, *how = nullptr, *by = nullptr;
        int r = sd_bus_message_read(m, "(sss)", &id, &how, &by);
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        if (ended.size() < MAX_HOST_GRANTS && lockbox::is_valid_uuid(id)) {
            // Anything but "released" is a revocation: the kill is the same.
            EndedGrant e{id, std::strcmp(how, "released") == 0 ? "released" : "revoked", ""};
            if (std::strlen(by) <= lockbox::bus::MAX_STRING_ARG)
                e.by = by;
            ended.push_back(std::move(e));
        }
    }
    if (!ok) {
        log_warning("GetHostGrants returned a malformed reply");
    } else {
        self->resyncs_done_++;
        self->on_host_grants_(grants, ended);
    }
    again();
    return 0;
}

}  // namespace lockboxd

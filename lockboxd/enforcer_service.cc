#include "enforcer_service.h"

#include <cerrno>
#include <cstring>
#include <pwd.h>
#include <vector>

#include "bus_api.h"
#include "bus_args.h"
#include "names.h"
#include "printable_text.h"

namespace lockboxd {

namespace {

namespace bus = lockbox::bus;
constexpr size_t MAX_EUID_CACHE = 4096;
constexpr size_t MAX_TTY = 64;
constexpr size_t MAX_SERVICE = 64;
constexpr size_t MAX_LOGIND_SESSION = 64;
constexpr size_t MAX_SESSION_ID = 64;

EnforcerService* self_of(void* userdata) { return static_cast<EnforcerService*>(userdata); }

int invalid(sd_bus_error* e, const std::string& what) {
    return sd_bus_error_set(e, bus::ERROR_INVALID_ARGUMENT, what.c_str());
}

// Refuses anyone but root (the bus policy should already have).
int require_root(EnforcerService* self, sd_bus_message* m, sd_bus_error* e, uid_t* out = nullptr) {
    auto euid = self->sender_euid(m);
    if (!euid)
        return sd_bus_error_set(e, bus::ERROR_ACCESS_DENIED, euid.error().message.c_str());
    if (*euid != 0)
        return sd_bus_error_set(e, bus::ERROR_ACCESS_DENIED, "only root may call this method of lockboxd");
    if (out)
        *out = *euid;
    return 1;
}

int error_from(sd_bus_error* e, const lockbox::Error& err) {
    return sd_bus_error_set(e, lockbox::bus_error_name(err.code), err.message.c_str());
}

int method_check_access(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string user = args.str("user", bus::MAX_STRING_ARG);
    const std::string service = args.str("service", MAX_SERVICE);
    const std::string rhost = args.str("rhost", lockbox::MAX_HOST_NAME);
    const std::string tty = args.str("tty", MAX_TTY);
    if (!args.ok())
        return invalid(e, args.error().message);
    if (!lockbox::is_valid_user_name(user))
        return invalid(e, "user: not a valid user name");
    if (!lockbox::is_printable(service) || !lockbox::is_printable(rhost) || !lockbox::is_printable(tty))
        return invalid(e, "service, rhost and tty must be short printable strings");
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    AccessAnswer a = self->enforcer().check_access(user, service, rhost, tty);
    return sd_bus_reply_method_return(m, "bsst", a.reason == AccessReason::Allowed, access_reason_name(a.reason),
                                      a.reason == AccessReason::Allowed ? a.jti.c_str() : "",
                                      a.reason == AccessReason::Allowed ? static_cast<uint64_t>(a.expires) : 0);
}

int method_open_session(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string user = args.str("user", bus::MAX_STRING_ARG);
    const uint32_t pid = args.u32("pid");
    const std::string tty = args.str("tty", MAX_TTY);
    const std::string rhost = args.str("rhost", lockbox::MAX_HOST_NAME);
    const std::string logind = args.str("logind_session", MAX_LOGIND_SESSION);
    if (!args.ok())
        return invalid(e, args.error().message);
    if (!lockbox::is_valid_user_name(user))
        return invalid(e, "user: not a valid user name");
    if (pid > INT32_MAX)
        return invalid(e, "pid: out of range");
    if (!lockbox::is_printable(tty) || !lockbox::is_printable(rhost) || !lockbox::is_printable(logind))
        return invalid(e, "tty, rhost and logind_session must be short printable strings");
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    auto opened = self->enforcer().open_session(user, static_cast<int32_t>(pid), tty, rhost, logind);
    if (!opened)
        return error_from(e, opened.error());
    return sd_bus_reply_method_return(m, "ssst", opened->session_id.c_str(), opened->grant_id.c_str(),
                                      opened->ticket.c_str(), static_cast<uint64_t>(opened->expires));
}

int method_close_session(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string id = args.str("session_id", MAX_SESSION_ID);
    if (!args.ok())
        return invalid(e, args.error().message);
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    if (auto st = self->enforcer().close_session(id); !st)
        return error_from(e, st.error());
    return sd_bus_reply_method_return(m, "");
}

int method_import_grant(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string token = args.str("token", bus::MAX_TOKEN);
    if (!args.ok())
        return invalid(e, args.error().message);
    uid_t euid = 0;
    int r;
    if ((r = require_root(self, m, e, &euid)) <= 0)
        return r;
    auto jti = self->enforcer().install(token, self->actor_of(euid), "import");
    if (!jti)
        return error_from(e, jti.error());
    return sd_bus_reply_method_return(m, "s", jti->c_str());
}

int method_revoke_grant(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string id = args.str("grant_id", bus::MAX_STRING_ARG);
    const std::string reason = args.str("reason", bus::MAX_STRING_ARG);
    if (!args.ok())
        return invalid(e, args.error().message);
    if (!lockbox::is_valid_uuid(id))
        return invalid(e, "grant_id: expected a UUID");
    if (!lockbox::is_valid_reason(reason) || reason.empty())
        return invalid(e, "reason: expected non-empty printable text");
    uid_t euid = 0;
    int r;
    if ((r = require_root(self, m, e, &euid)) <= 0)
        return r;
    if (auto st = self->enforcer().revoke(id, reason, self->actor_of(euid)); !st)
        return error_from(e, st.error());
    return sd_bus_reply_method_return(m, "");
}

int method_list_grants(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    return sd_bus_reply_method_return(m, "s", self->enforcer().grants_json().c_str());
}

// ListGrants in pages (docs/bus-api.md "Paging"), root only like ListGrants.
// A malformed cursor or a limit over the bound is invalid-argument.
int method_list_grants_page(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string cursor = args.str("cursor", bus::MAX_STRING_ARG);
    const uint32_t asked = args.u32("limit");
    if (!args.ok())
        return invalid(e, args.error().message);
    auto after = lockbox::parse_list_cursor(cursor);
    if (!after)
        return error_from(e, after.error());
    auto limit = lockbox::page_limit(asked);
    if (!limit)
        return error_from(e, limit.error());
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    const lockbox::ListPage page = self->enforcer().grants_page(*after, *limit);
    if (page.full() && page.count() == 0)
        return sd_bus_error_set(e, bus::ERROR_INTERNAL, "a grant does not fit one bus reply");
    return sd_bus_reply_method_return(m, "ss", page.json_array().c_str(), page.next_cursor().c_str());
}

int method_list_sessions(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    int r;
    if ((r = require_root(self, m, e)) <= 0)
        return r;
    return sd_bus_reply_method_return(m, "s", self->enforcer().sessions_json().c_str());
}

int method_kill_session(sd_bus_message* m, void* userdata, sd_bus_error* e) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string id = args.str("session_id", MAX_SESSION_ID);
    if (!args.ok())
        return invalid(e, args.error().message);
    int r;
    uid_t euid = 0;
    if ((r = require_root(self, m, e, &euid)) <= 0)
        return r;
    if (auto st = self->enforcer().kill_session(id, self->actor_of(euid)); !st)
        return error_from(e, st.error());
    return sd_bus_reply_method_return(m, "");
}

int method_authorized_keys(sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
    auto* self = self_of(userdata);
    lockbox::ArgReader args(m);
    const std::string user = args.str("user", bus::MAX_STRING_ARG);
    // sshd asks for every user who tries; an unknown or odd name has no keys.
    std::string lines = args.ok() && lockbox::is_valid_user_name(user) ? self->enforcer().authorized_keys(user) : "";
    return sd_bus_reply_method_return(m, "s", lines.c_str());
}

int method_status(sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
    auto* self = self_of(userdata);
    bool reachable = self->approval_reachable && self->approval_reachable();
    return sd_bus_reply_method_return(m, "s", self->enforcer().status_json(reachable).c_str());
}

const sd_bus_vtable enforcer_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES(
        "CheckAccess", "ssss", SD_BUS_PARAM(user) SD_BUS_PARAM(service) SD_BUS_PARAM(rhost) SD_BUS_PARAM(tty), "bsst",
        SD_BUS_PARAM(allowed) SD_BUS_PARAM(reason) SD_BUS_PARAM(grant_id) SD_BUS_PARAM(expires_usec),
        method_check_access, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES(
        "OpenSession", "susss",
        SD_BUS_PARAM(user) SD_BUS_PARAM(pid) SD_BUS_PARAM(tty) SD_BUS_PARAM(rhost) SD_BUS_PARAM(logind_session), "ssst",
        SD_BUS_PARAM(session_id) SD_BUS_PARAM(grant_id) SD_BUS_PARAM(ticket) SD_BUS_PARAM(expires_usec),
        method_open_session, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("CloseSession", "s", SD_BUS_PARAM(session_id), "", , method_close_session,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ImportGrant", "s", SD_BUS_PARAM(token), "s", SD_BUS_PARAM(grant_id), method_import_grant,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("RevokeGrant", "ss", SD_BUS_PARAM(grant_id) SD_BUS_PARAM(reason), "", ,
                             method_revoke_grant, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListGrants", "", , "s", SD_BUS_PARAM(json_array), method_list_grants,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListGrantsPage", "su", SD_BUS_PARAM(cursor) SD_BUS_PARAM(limit), "ss",
                             SD_BUS_PARAM(json_array) SD_BUS_PARAM(next_cursor), method_list_grants_page,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListSessions", "", , "s", SD_BUS_PARAM(json_array), method_list_sessions,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("KillSession", "s", SD_BUS_PARAM(session_id), "", , method_kill_session,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("AuthorizedKeys", "s", SD_BUS_PARAM(user), "s", SD_BUS_PARAM(lines),
                             method_authorized_keys, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Status", "", , "s", SD_BUS_PARAM(json), method_status, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("GrantChanged", "ss", SD_BUS_PARAM(grant_id) SD_BUS_PARAM(state), 0),
    SD_BUS_SIGNAL_WITH_NAMES("SessionKilled", "ss", SD_BUS_PARAM(session_id) SD_BUS_PARAM(grant_id), 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

EnforcerService::EnforcerService(Enforcer& enforcer, sd_bus* bus) : enforcer_(enforcer), bus_(bus) {}

lockbox::Status EnforcerService::start() {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(bus_, &slot, bus::ENFORCER_PATH, bus::ENFORCER_IFACE, enforcer_vtable, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot register the vtable: ") + std::strerror(-r));
    vtable_slot_.reset(slot);
    // A disconnecting client: NameOwnerChanged with an empty new owner.
    r = sd_bus_add_match_async(bus_, &slot,
                               "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                               "member='NameOwnerChanged',arg2=''",
                               on_name_lost, nullptr, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot watch disconnects: ") + std::strerror(-r));
    name_lost_match_.reset(slot);
    return {};
}

lockbox::Result<uid_t> EnforcerService::sender_euid(sd_bus_message* m) {
    const char* sender = sd_bus_message_get_sender(m);
    if (sender && sender[0] == ':') {
        if (auto it = euid_cache_.find(sender); it != euid_cache_.end())
            return it->second;
    }
    sd_bus_creds* raw = nullptr;
    int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &raw);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot learn the caller's uid: ") + std::strerror(-r));
    lockbox::BusCredsPtr creds(raw);
    uid_t euid = 0;
    r = sd_bus_creds_get_euid(creds.get(), &euid);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("the bus did not tell the caller's uid: ") + std::strerror(-r));
    if (sender && sender[0] == ':') {
        if (euid_cache_.size() >= MAX_EUID_CACHE)
            euid_cache_.clear();
        euid_cache_[sender] = euid;
    }
    return euid;
}

std::string EnforcerService::actor_of(uid_t uid) const {
    std::vector<char> buf(4096);
    struct passwd pw {};
    struct passwd* res = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res)
        return res->pw_name;
    return "uid " + std::to_string(uid);
}

int EnforcerService::on_name_lost(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
    auto* self = self_of(userdata);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 && name[0] == ':')
        self->euid_cache_.erase(name);
    return 0;
}

void EnforcerService::emit_grant_changed(const std::string& jti, const char* state) {
    sd_bus_emit_signal(bus_, bus::ENFORCER_PATH, bus::ENFORCER_IFACE, "GrantChanged", "ss", jti.c_str(), state);
}

void EnforcerService::emit_session_killed(const std::string& session_id, const std::string& jti) {
    sd_bus_emit_signal(bus_, bus::ENFORCER_PATH, bus::ENFORCER_IFACE, "SessionKilled", "ss", session_id.c_str(),
                       jti.c_str());
}

}  // namespace lockboxd

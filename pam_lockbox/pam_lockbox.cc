// pam_lockbox.so: the PAM entry points. Each one parses its options, decides
// whether the user is Lockbox's business at all (PAM_IGNORE if not), then asks
// lockboxd over the system bus and fails closed on anything but an explicit,
// well-formed answer. No exception leaves this file: every entry point is
// wrapped, and an escape counts as a failure.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "access_message.h"
#include "config.h"
#include "enforcer_client.h"
#include "managed_user.h"
#include "module_options.h"

namespace lockbox::pam {
namespace {

constexpr const char* SESSION_DATA_KEY = "pam_lockbox_session_id";
constexpr size_t MAX_ITEM = 255;

enum class Phase { auth, account };

// What every phase needs once options, user and config are known.
struct Request {
    pam_handle_t* pamh = nullptr;
    int flags = 0;
    ModuleOptions options;
    std::string user;
    Membership membership = Membership::unmanaged;
    std::optional<Config> config;  // empty when the file could not be read
    std::string config_error;
    Target target;
};

// Log lines go to journald under SYSLOG_IDENTIFIER=pam_lockbox (docs/design.md §3),
// with the PAM service and user as fields, so `journalctl -t pam_lockbox` finds
// every decision whichever program loaded the module. Without journald they go
// through pam_syslog as any PAM module's would.
void log(pam_handle_t* pamh, int priority, const std::string& text) {
    const void* service = nullptr;
    const void* user = nullptr;
    pam_get_item(pamh, PAM_SERVICE, &service);
    pam_get_item(pamh, PAM_USER, &user);
    int r =
        sd_journal_send("MESSAGE=pam_lockbox(%s): %s", service ? static_cast<const char*>(service) : "?", text.c_str(),
                        "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=pam_lockbox", "SYSLOG_FACILITY=%i",
                        LOG_AUTHPRIV >> 3, "PAM_SERVICE=%s", service ? static_cast<const char*>(service) : "",
                        "PAM_USER=%s", user ? static_cast<const char*>(user) : "", nullptr);
    if (r < 0 || access("/run/systemd/journal/socket", F_OK) != 0)
        pam_syslog(pamh, priority, "%s", text.c_str());
}

void tell(const Request& req, int style, const std::string& text) {
    if ((req.flags & PAM_SILENT) != 0)
        return;
    if (style == PAM_ERROR_MSG)
        pam_error(req.pamh, "%s", text.c_str());
    else
        pam_info(req.pamh, "%s", text.c_str());
}

std::string item(pam_handle_t* pamh, int type) {
    const void* value = nullptr;
    if (pam_get_item(pamh, type, &value) != PAM_SUCCESS || value == nullptr)
        return {};
    return printable(static_cast<const char*>(value), MAX_ITEM);
}

std::string local_host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0)
        return {};
    return buf;
}

Result<ModuleOptions> options_for(pam_handle_t* pamh, int argc, const char** argv) {
    auto options = parse_module_options(argc, argv);
    if (!options) {
        log(pamh, LOG_ERR, "bad module option: " + options.error().message);
        return options.error();
    }
    for (const auto& word : options->unknown)
        log(pamh, LOG_WARNING, "ignoring unknown option '" + printable(word, 64) + "'");
    return options;
}

// Fills everything but the bus verdict. Returns a PAM code to end with, or
// nothing when the user is managed and the phase should go on.
std::optional<int> prepare(Request& req, int argc, const char** argv) {
    auto options = options_for(req.pamh, argc, argv);
    if (!options)
        return PAM_SERVICE_ERR;
    req.options = std::move(*options);

    const char* user = nullptr;
    int r = pam_get_user(req.pamh, &user, nullptr);
    if (r != PAM_SUCCESS || user == nullptr || user[0] == '\0') {
        log(req.pamh, LOG_ERR, "cannot determine the user name");
        return r == PAM_SUCCESS ? PAM_USER_UNKNOWN : r;
    }
    req.user = user;

    std::string path = resolve_config_path(req.options);
    auto config = load_config(path);
    if (config) {
        req.config = std::move(*config);
    } else {
        req.config_error = config.error().message;
    }
    // Without a readable config we still need the account range to know whom
    // we must protect; the built-in range is the documented default.
    const Config ranges = req.config ? *req.config : default_config();

    auto membership = classify_user(req.user, ranges, req.options.gate_group);
    if (!membership) {
        log(req.pamh, LOG_ERR,
            "cannot resolve user " + printable(req.user, 64) + ": " + membership.error().message + "; refusing");
        return PAM_SERVICE_ERR;
    }
    req.membership = *membership;
    if (req.membership == Membership::unmanaged) {
        if (req.options.debug)
            log(req.pamh, LOG_DEBUG, "user " + printable(req.user, 64) + " is not gated by Lockbox");
        return PAM_IGNORE;
    }

    req.target.user = printable(req.user, 64);
    req.target.tenant = req.config ? printable(req.config->tenant, 64) : std::string();
    req.target.host =
        req.config && !req.config->host_name.empty() ? printable(req.config->host_name, 253) : local_host_name();
    if (!req.config) {
        log(req.pamh, LOG_ERR,
            "refusing " + req.target.user + " (" + membership_name(req.membership) + "): cannot read " +
                printable(path, MAX_SHOWN_TEXT) + ": " + printable(req.config_error, MAX_SHOWN_TEXT));
        return PAM_SERVICE_ERR;
    }
    return std::nullopt;
}

int decide_access(pam_handle_t* pamh, int flags, int argc, const char** argv, Phase phase) {
    const int deny = phase == Phase::auth ? PAM_AUTH_ERR : PAM_PERM_DENIED;
    Request req;
    req.pamh = pamh;
    req.flags = flags;
    if (auto done = prepare(req, argc, argv)) {
        if (*done == PAM_SERVICE_ERR && req.membership != Membership::unmanaged)
            tell(req, PAM_ERROR_MSG, misconfigured_message(req.target));
        return *done;
    }

    std::string service = item(pamh, PAM_SERVICE);
    std::string rhost = item(pamh, PAM_RHOST);
    std::string tty = item(pamh, PAM_TTY);
    auto client = EnforcerClient::connect(req.options.timeout);
    auto verdict = client ? client->check_access(req.user, service, rhost, tty) : Result<AccessVerdict>(client.error());
    const std::string who = req.target.user + " (" + membership_name(req.membership) + ", service " + service +
                            (rhost.empty() ? "" : ", from " + rhost) + ")";
    if (!verdict) {
        log(pamh, LOG_ERR,
            "denying " + who + ": lockboxd unavailable [" + errc_name(verdict.error().code) +
                "]: " + verdict.error().message);
        tell(req, PAM_ERROR_MSG, unavailable_message(req.target));
        return deny;
    }
    if (!verdict->allowed) {
        log(pamh, LOG_NOTICE, "denying " + who + ": no grant (" + verdict->reason + ")");
        tell(req, PAM_ERROR_MSG, denied_message(req.target, verdict->reason));
        return deny;
    }
    log(pamh, LOG_INFO,
        "allowing " + who + " by grant " + verdict->grant_id + " until " + format_local_and_utc(verdict->expires));
    return PAM_SUCCESS;
}

void free_session_id(pam_handle_t*, void* data, int) { free(data); }

int open_session(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    Request req;
    req.pamh = pamh;
    req.flags = flags;
    if (auto done = prepare(req, argc, argv)) {
        if (*done == PAM_IGNORE || req.membership == Membership::unmanaged)
            return *done;
        // A managed user whose session we cannot register must not get one.
        tell(req, PAM_ERROR_MSG, misconfigured_message(req.target));
        return PAM_SESSION_ERR;
    }

    SessionInfo session;
    session.user = req.user;
    // The PAM caller's pid: sshd's per-connection monitor and login/su stay the
    // parent of everything the session starts, and lockboxd tracks from there.
    session.pid = static_cast<uint32_t>(getpid());
    session.tty = item(pamh, PAM_TTY);
    session.rhost = item(pamh, PAM_RHOST);
    const char* logind = pam_getenv(pamh, "XDG_SESSION_ID");
    session.logind_session = logind ? printable(logind, 64) : std::string();

    auto client = EnforcerClient::connect(req.options.timeout);
    auto ticket = client ? client->open_session(session) : Result<SessionTicket>(client.error());
    if (!ticket) {
        log(pamh, LOG_ERR,
            "refusing session of " + req.target.user + ": OpenSession failed [" + errc_name(ticket.error().code) +
                "]: " + ticket.error().message);
        tell(req, PAM_ERROR_MSG, session_refused_message(req.target));
        return PAM_SESSION_ERR;
    }
    char* id = strdup(ticket->session_id.c_str());
    if (id == nullptr || pam_set_data(pamh, SESSION_DATA_KEY, id, free_session_id) != PAM_SUCCESS) {
        free(id);
        // lockboxd tracks the session by pid and ends it at expiry either way;
        // we only lose the early CloseSession.
        log(pamh, LOG_WARNING, "cannot remember session " + ticket->session_id);
    }
    // With [Accounts] Record=yes the engineer's login shell is tlog-rec-session;
    // it runs the real shell named here, so recording and Shell= stay in one file.
    if (req.config->record) {
        const std::string shell_env = "TLOG_REC_SESSION_SHELL=" + req.config->shell;
        if (pam_putenv(pamh, shell_env.c_str()) != PAM_SUCCESS)
            log(pamh, LOG_WARNING, "cannot pass " + shell_env + " to the recorded session");
    }
    log(pamh, LOG_INFO,
        "session " + ticket->session_id + " of " + req.target.user + " opened under grant " + ticket->grant_id +
            " (ticket " + ticket->ticket + ") until " + format_local_and_utc(ticket->expires));
    tell(req, PAM_TEXT_INFO, session_opened_message(ticket->grant_id, ticket->ticket, ticket->expires));
    return PAM_SUCCESS;
}

int close_session(pam_handle_t* pamh, int argc, const char** argv) {
    auto options = options_for(pamh, argc, argv);
    if (!options)
        return PAM_SERVICE_ERR;
    const void* data = nullptr;
    if (pam_get_data(pamh, SESSION_DATA_KEY, &data) != PAM_SUCCESS || data == nullptr)
        return PAM_IGNORE;  // we opened nothing in this handle
    std::string session_id = static_cast<const char*>(data);

    auto client = EnforcerClient::connect(options->timeout);
    auto closed = client ? client->close_session(session_id) : Status(client.error());
    if (!closed)
        log(pamh, LOG_WARNING,
            "CloseSession " + session_id + " failed [" + errc_name(closed.error().code) +
                "]: " + closed.error().message + " (lockboxd ends it at expiry)");
    else if (options->debug)
        log(pamh, LOG_DEBUG, "session " + session_id + " closed");
    pam_set_data(pamh, SESSION_DATA_KEY, nullptr, nullptr);
    return PAM_SUCCESS;
}

template <typename F>
int guarded(pam_handle_t* pamh, F&& body) noexcept {
    try {
        return body();
    } catch (...) {
        // Fail closed: we cannot tell whether the user was ours.
        pam_syslog(pamh, LOG_CRIT, "internal error; refusing");
        return PAM_SERVICE_ERR;
    }
}

}  // namespace
}  // namespace lockbox::pam

using namespace lockbox::pam;

// The module is built with hidden visibility; only these five are made public,
// and the version script keeps it so even if a header says otherwise.
#define LOCKBOX_PAM_ENTRY extern "C" __attribute__((visibility("default"))) int

LOCKBOX_PAM_ENTRY pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, [&] { return decide_access(pamh, flags, argc, argv, Phase::auth); });
}

LOCKBOX_PAM_ENTRY pam_sm_setcred(pam_handle_t*, int, int, const char**) {
    return PAM_SUCCESS;  // Lockbox establishes no credentials
}

LOCKBOX_PAM_ENTRY pam_sm_acct_mgmt(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, [&] { return decide_access(pamh, flags, argc, argv, Phase::account); });
}

LOCKBOX_PAM_ENTRY pam_sm_open_session(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    return guarded(pamh, [&] { return open_session(pamh, flags, argc, argv); });
}

LOCKBOX_PAM_ENTRY pam_sm_close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    return guarded(pamh, [&] { return close_session(pamh, argc, argv); });
}

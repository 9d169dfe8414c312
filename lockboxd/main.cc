// lockboxd: per-host enforcement of Lockbox grants (docs/design.md §2). One context
// (Enforcer), one sd-event loop, one vtable, as systemd's hostnamed does it.
// State is reloaded and acted on before the bus name is taken, so a client that
// reaches org.lockbox.Enforcer1 always talks to a daemon that knows every grant.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include "approval_client.h"
#include "audit.h"
#include "bus_api.h"
#include "config.h"
#include "enforcer.h"
#include "enforcer_service.h"
#include "expiry_scheduler.h"
#include "local_account_guard.h"
#include "lockbox_build_config.h"
#include "log.h"
#include "trusted_keys_watch.h"

namespace {

using namespace lockboxd;

int run(const std::string& config_path) {
    // Before any NSS lookup: glibc reads nsswitch.conf once per process.
    if (auto st = bypass_nss_lockbox(); !st) {
        log_error(st.error().message);
        return 1;
    }
    auto config = lockbox::load_config(config_path);
    if (!config) {
        log_error(config.error().message);
        return 1;
    }
    if (config->tenant.empty()) {
        log_error(config_path + ": [Host] Tenant= is required");
        return 1;
    }
    lockbox::set_audit_identity("lockboxd", config->host_name);

    sd_event* raw_event = nullptr;
    int r = sd_event_default(&raw_event);
    if (r < 0) {
        log_error(std::string("cannot create the event loop: ") + std::strerror(-r));
        return 1;
    }
    lockbox::EventPtr event(raw_event);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);  // reload: trusted_keys_watch.h
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sd_event_add_signal(event.get(), nullptr, SIGTERM, nullptr, nullptr);
    sd_event_add_signal(event.get(), nullptr, SIGINT, nullptr, nullptr);
    sd_event_set_watchdog(event.get(), true);

    Enforcer enforcer(*config, lockbox::system_clock(), event.get());
    if (auto st = enforcer.load(); !st) {
        log_error("cannot load state: " + st.error().message);
        return 1;
    }
    ExpiryScheduler scheduler(event.get(), [&enforcer] { enforcer.tick(); });
    if (auto st = scheduler.start(); !st) {
        log_error(st.error().message);
        return 1;
    }
    enforcer.on_deadline_changed = [&scheduler](std::optional<lockbox::usec_t> t) { scheduler.arm(t); };
    // Kills of sessions that ended while we were down start here, before the bus.
    enforcer.recover();
    TrustedKeysWatch key_watch(event.get(), config->trusted_dir,
                               [&enforcer](const char* trigger) { enforcer.reload_trusted_keys(trigger); });
    if (auto st = key_watch.start(); !st) {
        log_error(st.error().message);
        return 1;
    }

    sd_bus* raw_bus = nullptr;
    r = sd_bus_open_system(&raw_bus);
    if (r < 0) {
        log_error(std::string("cannot connect to the system bus: ") + std::strerror(-r));
        return 1;
    }
    lockbox::BusPtr bus(raw_bus);
    sd_bus_attach_event(bus.get(), event.get(), SD_EVENT_PRIORITY_NORMAL);
    enforcer.set_bus(bus.get());

    EnforcerService service(enforcer, bus.get());
    ApprovalClient approval(
        bus.get(), event.get(), config->tenant, config->host_name, config->resync_interval,
        [&enforcer](const auto& grants, const auto& revoked) { enforcer.sync(grants, revoked, "lockbox-approvald"); },
        [&enforcer](lockbox::AuditRecord rec) { enforcer.send_audit(std::move(rec)); });
    service.approval_reachable = [&approval] { return approval.reachable(); };
    enforcer.on_grant_changed = [&service](const std::string& jti, const char* state) {
        service.emit_grant_changed(jti, state);
    };
    enforcer.on_session_killed = [&service](const std::string& sid, const std::string& jti) {
        service.emit_session_killed(sid, jti);
    };
    if (auto st = service.start(); !st) {
        log_error(st.error().message);
        return 1;
    }
    if (auto st = approval.start(); !st) {
        log_error(st.error().message);
        return 1;
    }
    r = sd_bus_request_name(bus.get(), lockbox::bus::ENFORCER_NAME, 0);
    if (r < 0) {
        log_error(std::string("cannot own ") + lockbox::bus::ENFORCER_NAME + ": " + std::strerror(-r));
        return 1;
    }
    sd_notify(0, "READY=1\nSTATUS=Enforcing grants");
    log_info("lockboxd ready for tenant " + config->tenant + ", host " + config->host_name);
    r = sd_event_loop(event.get());
    sd_notify(0, "STOPPING=1");
    if (r < 0) {
        log_error(std::string("event loop failed: ") + std::strerror(-r));
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path = LOCKBOX_CONFIG_PATH;
    CLI::App app{"lockboxd: enforces Lockbox grants on this host"};
    app.name("lockboxd");
    app.add_option("--config", config_path, "configuration file")->capture_default_str();
    app.set_version_flag("--version", LOCKBOX_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        return run(config_path);
    } catch (const std::exception& e) {
        log_error(std::string("fatal: ") + e.what());
        return 1;
    }
}

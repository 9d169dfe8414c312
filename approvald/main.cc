// lockbox-approvald: the approval workflow on the system bus as org.lockbox.Approval1.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include "approval_service.h"
#include "audit.h"
#include "bus_api.h"
#include "daemon_log.h"
#include "lockbox_build_config.h"
#include "etcd_request_store.h"
#include "sqlite_request_store.h"

namespace {

using namespace lockbox;
using namespace lockbox::approval;

// A member that cannot commit within a second (its leader just died) is
// asked again through the next one; a bus caller waits seconds, not etcd's own
// request timeout per member.
constexpr std::chrono::milliseconds STORE_CALL_TIMEOUT{1500};

bool make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST)
        return true;
    log_error("cannot create {}: {}", path, std::strerror(errno));
    return false;
}

// A fleet's signer and workflow instances share the requests on etcd; a single
// host, and a fleet host (which serves only its mirror), keep SQLite.
Result<std::unique_ptr<RequestStore>> open_store(const Config& config) {
    const auto mode = config.fleet.mode;
    if (mode == FleetMode::Signer || mode == FleetMode::Workflow) {
        auto client = fleet::EtcdClient::open(config.fleet, STORE_CALL_TIMEOUT);
        if (!client)
            return client.error();
        return std::unique_ptr<RequestStore>(
            std::make_unique<EtcdRequestStore>(std::move(*client), config.tenant, config.host_name));
    }
    auto sqlite = SqliteRequestStore::open(config.approval_dir() + "/requests.db");
    if (!sqlite)
        return sqlite.error();
    return std::unique_ptr<RequestStore>(std::move(*sqlite));
}

int run(const std::string& config_path) {
    ::umask(0077);
    // sd-event takes these through signalfd / child sources; they must be blocked.
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGCHLD})
        sigaddset(&mask, sig);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0)
        return EXIT_FAILURE;
    ::signal(SIGPIPE, SIG_IGN);

    auto config = load_config(config_path);
    if (!config) {
        log_error(config.error().message);
        return EXIT_FAILURE;
    }
    if (config->tenant.empty()) {
        log_error("{}: [Host] Tenant= is required", config_path);
        return EXIT_FAILURE;
    }
    set_audit_identity("lockbox-approvald", config->host_name);

    if (!make_dir(config->state_dir, 0755) || !make_dir(config->approval_dir(), 0700))
        return EXIT_FAILURE;
    auto store = open_store(*config);
    if (!store) {
        log_error(store.error().message);
        return EXIT_FAILURE;
    }

    sd_event* raw_event = nullptr;
    int r = sd_event_default(&raw_event);
    EventPtr event(raw_event);
    if (r < 0) {
        log_error("cannot create the event loop: {}", std::strerror(-r));
        return EXIT_FAILURE;
    }
    (void)sd_event_add_signal(event.get(), nullptr, SIGTERM, nullptr, nullptr);
    (void)sd_event_add_signal(event.get(), nullptr, SIGINT, nullptr, nullptr);
    (void)sd_event_set_watchdog(event.get(), 1);

    sd_bus* raw_bus = nullptr;
    // Honours DBUS_SYSTEM_BUS_ADDRESS (secure_getenv), which the tests use.
    r = sd_bus_open_system(&raw_bus);
    BusPtr bus(raw_bus);
    if (r < 0) {
        log_error("cannot connect to the system bus: {}", std::strerror(-r));
        return EXIT_FAILURE;
    }
    r = sd_bus_attach_event(bus.get(), event.get(), SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) {
        log_error("cannot attach the bus to the loop: {}", std::strerror(-r));
        return EXIT_FAILURE;
    }

    ApprovalService service(*config, system_clock(), std::move(*store), event.get(), bus.get());
    if (auto s = service.start(); !s) {
        log_error(s.error().message);
        return EXIT_FAILURE;
    }
    // Name last: once a caller can reach us, everything is in place. Works for
    // Type=dbus (BusName=) and Type=notify alike.
    r = sd_bus_request_name(bus.get(), bus::APPROVAL_NAME, 0);
    if (r < 0) {
        log_error("cannot own {}: {}", bus::APPROVAL_NAME, std::strerror(-r));
        return EXIT_FAILURE;
    }
    (void)sd_notify(0, "READY=1\nSTATUS=Serving org.lockbox.Approval1");
    r = sd_event_loop(event.get());
    (void)sd_notify(0, "STOPPING=1");
    if (r < 0) {
        log_error("event loop failed: {}", std::strerror(-r));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path = LOCKBOX_CONFIG_PATH;
    CLI::App app{"lockbox-approvald: the Lockbox approval service (org.lockbox.Approval1)"};
    app.name("lockbox-approvald");
    app.add_option("--config", config_path, "configuration file")->capture_default_str();
    app.set_version_flag("--version", LOCKBOX_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? EXIT_SUCCESS : 2;
    }
    try {
        return run(config_path);
    } catch (const std::exception& e) {
        log_error("fatal: {}", e.what());
        return EXIT_FAILURE;
    }
}

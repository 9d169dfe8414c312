// Stand-in for lockbox-approvald in lockboxd's integration tests.
//   fake_approval_service --dir DIR
//     owns org.lockbox.Approval1 and answers GetHostGrants from DIR/*.token
//     (file name = grant id) and DIR/revoked (a line "ID [revoked|released BY]"
//     per grant ended early, "revoked" by nobody named when only ID); prints one line
//     "GetHostGrants" per call on stdout. Reads "issued ID" / "revoked ID" lines
//     on stdin and emits GrantIssued / GrantRevoked, printing "emitted ID".
//   fake_approval_service --forge SIGNAL ID
//     does NOT own the name; emits SIGNAL(ID) as broadcast and unicast to
//     org.lockbox.Enforcer1, then exits: lockboxd must ignore it.
//   fake_approval_service --forge-owner-change DEST OLD_OWNER COUNT
//     sends DEST COUNT unicast org.freedesktop.DBus.NameOwnerChanged signals
//     claiming org.lockbox.Approval1 left OLD_OWNER (a flood, as any local
//     user could), stays connected LINGER seconds (so lockboxd can still ask
//     the bus who sent them), then exits.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "sd_handles.h"

namespace {

std::string g_dir;

constexpr const char* PATH = "/org/lockbox/Approval1";
constexpr const char* IFACE = "org.lockbox.Approval1";

int get_host_grants(sd_bus_message* m, void* /*userdata*/, sd_bus_error* /*e*/) {
    const char *tenant, *host;
    int r = sd_bus_message_read(m, "ss", &tenant, &host);
    if (r < 0)
        return r;
    std::printf("GetHostGrants\n");
    std::fflush(stdout);
    sd_bus_message* raw = nullptr;
    r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0)
        return r;
    lockbox::BusMessagePtr reply(raw);
    sd_bus_message_open_container(reply.get(), 'a', "(ss)");
    if (DIR* d = opendir(g_dir.c_str())) {
        while (struct dirent* de = readdir(d)) {
            std::string name = de->d_name;
            if (name.size() <= 6 || name.substr(name.size() - 6) != ".token")
                continue;
            std::ifstream in(g_dir + "/" + name);
            std::string token;
            std::getline(in, token);
            std::string id = name.substr(0, name.size() - 6);
            sd_bus_message_append(reply.get(), "(ss)", id.c_str(), token.c_str());
        }
        closedir(d);
    }
    sd_bus_message_close_container(reply.get());
    sd_bus_message_open_container(reply.get(), 'a', "(sss)");
    std::ifstream rev(g_dir + "/revoked");
    std::string line;
    while (std::getline(rev, line)) {
        std::istringstream words(line);
        std::string id, how = "revoked", by;
        if (words >> id) {
            words >> how >> by;
            sd_bus_message_append(reply.get(), "(sss)", id.c_str(), how.c_str(), by.c_str());
        }
    }
    sd_bus_message_close_container(reply.get());
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

const sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("GetHostGrants", "ss", "a(ss)a(sss)", get_host_grants, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL("GrantIssued", "s", 0),
    SD_BUS_SIGNAL("GrantRevoked", "s", 0),
    SD_BUS_VTABLE_END,
};

int on_stdin(sd_event_source* s, int fd, uint32_t /*revents*/, void* userdata) {
    auto* bus = static_cast<sd_bus*>(userdata);
    static std::string buffer;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        sd_event_exit(sd_event_source_get_event(s), 0);
        return 0;
    }
    buffer.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = buffer.find('\n')) != std::string::npos) {
        std::istringstream line(buffer.substr(0, eol));
        buffer.erase(0, eol + 1);
        std::string what, id;
        line >> what >> id;
        const char* member = what == "issued" ? "GrantIssued" : what == "revoked" ? "GrantRevoked" : nullptr;
        if (!member)
            continue;
        sd_bus_emit_signal(bus, PATH, IFACE, member, "s", id.c_str());
        sd_bus_flush(bus);
        std::printf("emitted %s\n", id.c_str());
        std::fflush(stdout);
    }
    return 0;
}

int forge(const char* member, const char* id) {
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
        return 1;
    lockbox::BusPtr bus(raw);
    sd_bus_emit_signal(bus.get(), PATH, IFACE, member, "s", id);
    sd_bus_message* m = nullptr;
    if (sd_bus_message_new_signal(bus.get(), &m, PATH, IFACE, member) >= 0) {
        lockbox::BusMessagePtr msg(m);
        sd_bus_message_set_destination(m, "org.lockbox.Enforcer1");
        sd_bus_message_append(m, "s", id);
        sd_bus_send(bus.get(), m, nullptr);
    }
    sd_bus_flush(bus.get());
    std::printf("forged %s %s\n", member, id);
    return 0;
}

int forge_owner_change(const char* dest, const char* old_owner, int count) {
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
        return 1;
    lockbox::BusPtr bus(raw);
    for (int i = 0; i < count; i++) {
        sd_bus_message* m = nullptr;
        if (sd_bus_message_new_signal(bus.get(), &m, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "NameOwnerChanged") < 0)
            return 1;
        lockbox::BusMessagePtr msg(m);
        if (sd_bus_message_set_destination(m, dest) < 0 ||
            sd_bus_message_append(m, "sss", "org.lockbox.Approval1", old_owner, "") < 0 ||
            sd_bus_send(bus.get(), m, nullptr) < 0)
            return 1;
        if (i % 50 == 49)
            sd_bus_flush(bus.get());
    }
    sd_bus_flush(bus.get());
    std::printf("forged %d NameOwnerChanged\n", count);
    std::fflush(stdout);
    sleep(10);  // LINGER
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--forge") == 0)
        return forge(argv[2], argv[3]);
    if (argc == 5 && std::strcmp(argv[1], "--forge-owner-change") == 0)
        return forge_owner_change(argv[2], argv[3], std::atoi(argv[4]));
    if (argc != 3 || std::strcmp(argv[1], "--dir") != 0) {
        std::fprintf(stderr, "usage: fake_approval_service --dir DIR | --forge SIGNAL ID\n");
        return 2;
    }
    g_dir = argv[2];
    sd_event* e = nullptr;
    sd_event_default(&e);
    lockbox::EventPtr event(e);
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
        return 1;
    lockbox::BusPtr bus(raw);
    sd_bus_attach_event(bus.get(), e, 0);
    if (sd_bus_add_object_vtable(bus.get(), nullptr, PATH, IFACE, vtable, nullptr) < 0)
        return 1;
    if (sd_bus_request_name(bus.get(), "org.lockbox.Approval1", 0) < 0) {
        std::fprintf(stderr, "fake_approval_service: cannot own org.lockbox.Approval1\n");
        return 1;
    }
    sd_event_add_io(e, nullptr, STDIN_FILENO, EPOLLIN, on_stdin, bus.get());
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sd_event_add_signal(e, nullptr, SIGTERM, nullptr, nullptr);
    std::printf("ready\n");
    std::fflush(stdout);
    return sd_event_loop(e) < 0 ? 1 : 0;
}

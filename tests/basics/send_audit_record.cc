// Test helper: sends one AuditRecord to journald through AuditRecord::send, as
// the daemons do. Usage: send_audit_record IDENTIFIER HOST EVENT ACTOR
//   [REQUEST_ID TENANT TICKET ENGINEER] [--field NAME=VALUE]... [--message TEXT]
// Exit 0 sent, 1 refused by journald (message on stderr), 2 usage.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "audit.h"

int main(int argc, char** argv) {
    using namespace lockbox;
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string message;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--field") == 0 && i + 1 < argc) {
            std::string f = argv[++i];
            auto eq = f.find('=');
            if (eq == std::string::npos)
                return 2;
            fields.emplace_back(f.substr(0, eq), f.substr(eq + 1));
        } else if (std::strcmp(argv[i], "--message") == 0 && i + 1 < argc) {
            message = argv[++i];
        } else {
            pos.emplace_back(argv[i]);
        }
    }
    if (pos.size() != 4 && pos.size() != 8) {
        std::fprintf(stderr, "usage: send_audit_record IDENT HOST EVENT ACTOR [REQ TENANT TICKET ENGINEER]\n");
        return 2;
    }
    const AuditEventInfo* info = nullptr;
    for (const auto& e : AUDIT_EVENTS)
        if (e.name == pos[2])
            info = &e;
    if (!info) {
        std::fprintf(stderr, "unknown event %s\n", pos[2].c_str());
        return 2;
    }
    set_audit_identity(pos[0], pos[1]);
    AuditRecord r(info->event, pos[3]);
    if (!message.empty())
        r.message(message);
    if (pos.size() == 8)
        r.request(pos[4], pos[5], pos[6], pos[7]);
    for (auto& [name, value] : fields)
        r.field(name, value);
    auto s = r.send();
    if (!s) {
        std::fprintf(stderr, "%s: %s\n", lockbox::errc_name(s.error().code), s.error().message.c_str());
        return 1;
    }
    return 0;
}

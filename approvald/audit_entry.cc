#include "audit_entry.h"

#include <nlohmann/json.hpp>

namespace lockbox::approval {

AuditRecord AuditEntry::to_record() const {
    AuditRecord rec(event, actor);
    rec.message(message).priority(priority);
    if (has_request)
        rec.request(request_id, tenant, ticket, engineer);
    for (const auto& [name, value] : fields)
        rec.field(name, value);
    return rec;
}

AuditEntry audit_for(AuditEvent event, const std::string& actor, const Request& r, std::string message) {
    AuditEntry e;
    e.event = event;
    e.actor = actor;
    e.message = std::move(message);
    e.has_request = true;
    e.request_id = r.id;
    e.tenant = r.tenant;
    e.ticket = r.ticket;
    e.engineer = r.engineer;
    return e;
}

std::string audit_entry_to_json(const AuditEntry& e) {
    nlohmann::json j;
    j["event"] = std::string(audit_event_info(e.event).name);
    j["actor"] = e.actor;
    j["message"] = e.message;
    j["priority"] = e.priority;
    if (e.has_request)
        j["request"] = {{"id", e.request_id}, {"tenant", e.tenant}, {"ticket", e.ticket}, {"engineer", e.engineer}};
    j["fields"] = e.fields;
    return j.dump();
}

Result<AuditEntry> audit_entry_from_json(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return make_error(Errc::Malformed, "outbox entry is not a JSON object");
    try {
        AuditEntry e;
        const auto name = j.at("event").get<std::string>();
        bool found = false;
        for (const auto& info : AUDIT_EVENTS)
            if (info.name == name) {
                e.event = info.event;
                found = true;
            }
        if (!found)
            return make_error(Errc::Malformed, "outbox entry names unknown event " + name);
        e.actor = j.at("actor").get<std::string>();
        e.message = j.at("message").get<std::string>();
        e.priority = j.at("priority").get<int>();
        if (j.contains("request")) {
            const auto& r = j["request"];
            e.has_request = true;
            e.request_id = r.at("id").get<std::string>();
            e.tenant = r.at("tenant").get<std::string>();
            e.ticket = r.at("ticket").get<std::string>();
            e.engineer = r.at("engineer").get<std::string>();
        }
        e.fields = j.at("fields").get<std::map<std::string, std::string>>();
        return e;
    } catch (const nlohmann::json::exception& ex) {
        return make_error(Errc::Malformed, std::string("outbox entry: ") + ex.what());
    }
}

}  // namespace lockbox::approval
